import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

# Imported here rather than in a test: it sets Django up, which configures
# logging afresh and drops the handlers caplog adds to a running test.
from config.asgi import application
from runtime_errors.models import IngestKey

from .live import INGEST_URL, live_servers  # noqa: F401 - a fixture for every module

STAFF_URL = "/api/v1/staff/runtime-errors/"
FEED_URL = "/api/v1/staff/runtime-errors/feed/"
SOCKET_PATH = "/ws/staff/runtime-errors/"
ORIGIN = b"http://localhost"


@pytest.fixture(scope="session", autouse=True)
def close_connection_pools(django_db_blocker):
    """Close pooled connections so that the test database can be dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if hasattr(connection, "close_pool"):
                connection.close_pool()


def report(**fields):
    """Return a valid report body with fields overridden."""
    body = {
        "level": "error",
        "source": "billing-worker",
        "message": "invoice 17 failed to render",
        "stack": (
            "Traceback (most recent call last):\n"
            '  File "billing/render.py", line 12, in render\n'
            "ValueError: template missing"
        ),
        "occurred_at": "2024-05-01T10:00:00Z",
    }
    body.update(fields)
    return body


@pytest.fixture
def ingest_key(db):
    _, key = IngestKey.objects.create_key(name="billing-worker")
    return key


@pytest.fixture
def ingest_client(ingest_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ingest_key}")
    return client


def post_json(client, body, path=INGEST_URL):
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        username="oncall", password="not-used-here", is_staff=True
    )


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user(
        username="viewer01", password="not-used-here"
    )


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_login(staff_user)
    return client


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def socket_for(cookie=None, origin=ORIGIN):
    headers = [(b"host", b"localhost")]
    if origin:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, SOCKET_PATH, headers=headers)


async def staff_socket(user):
    """Return a connected staff socket that has had its snapshot."""
    socket = socket_for(await sync_to_async(session_cookie)(user))
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from())["type"] == "snapshot"
    return socket
