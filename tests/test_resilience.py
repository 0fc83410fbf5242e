"""The journal keeps its promises under heavy traffic and missing services."""

import logging
import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from runtime_errors import middleware, push
from runtime_errors.models import IngestKey, RuntimeError

from .conftest import (
    FEED_URL,
    INGEST_URL,
    post_json,
    report,
    session_cookie,
    socket_for,
)
from .live import free_port, staff_session

HEALTH_URL = "/healthz"
PUSH_FAILED = (
    "WARNING runtime_errors.push Push to staff sockets failed; "
    "clients will catch up from the feed."
)


@pytest.fixture
def ingest_rate(settings):
    """Set the ingest rate to three requests a minute, on a fresh cache."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"ingest": "3/min"},
    }
    cache.clear()
    yield
    cache.clear()


def client_for(key):
    client = APIClient(REMOTE_ADDR="10.0.0.7")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def redis_down(settings):
    """Point the channel layer and the cache at a port nobody listens on."""
    closed = f"redis://127.0.0.1:{free_port()}/6"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [closed]},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": closed,
        }
    }
    return closed


@pytest.mark.django_db
def test_ingest_past_the_rate_answers_429_per_key_not_per_address(ingest_rate):
    _, first_key = IngestKey.objects.create_key(name="busy-service")
    _, second_key = IngestKey.objects.create_key(name="quiet-service")
    busy, quiet = client_for(first_key), client_for(second_key)

    within = [post_json(busy, report(message=f"m {n}")) for n in range(3)]
    beyond = post_json(busy, report(message="one too many"))
    other_key = post_json(quiet, report(message="same address, other key"))

    assert [response.status_code for response in within] == [201, 201, 201]
    assert beyond.status_code == 429
    assert 1 <= int(beyond["Retry-After"]) <= 60
    assert "throttled" in beyond.json()["detail"].lower()
    assert other_key.status_code == 201
    assert not RuntimeError.objects.filter(message="one too many").exists()


@pytest.mark.django_db(transaction=True)
def test_ingest_with_redis_unreachable_answers_201_stores_and_logs_the_push(
    redis_down, ingest_client, caplog
):
    caplog.set_level(logging.WARNING)

    response = post_json(ingest_client, report(message="stored without redis"))

    assert response.status_code == 201
    error = RuntimeError.objects.get(pk=response.json()["id"])
    assert error.message == "stored without redis"
    logged = {(record.name, record.levelno) for record in caplog.records}
    assert (push.__name__, logging.WARNING) in logged


@pytest.mark.live
def test_live_server_without_redis_stores_reports_and_staff_catch_up_by_the_feed(
    live_servers, ingest_key
):
    server = live_servers(redis_url=f"redis://127.0.0.1:{free_port()}/0")

    response = httpx.post(
        server.url + INGEST_URL,
        json=report(message="stored while redis is away"),
        headers={"Authorization": f"Api-Key {ingest_key}"},
        timeout=10,
    )
    with staff_session(server) as staff:
        feed = staff.get(FEED_URL)
    log = _log_once_it_has(server, PUSH_FAILED)

    assert response.status_code == 201
    assert "Traceback" not in response.text
    error = RuntimeError.objects.get(pk=response.json()["id"])
    assert error.message == "stored while redis is away"
    assert PUSH_FAILED in log
    assert feed.status_code == 200
    assert [e["id"] for e in feed.json()["results"]] == [error.id]


def _log_once_it_has(server, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    return server.log()


@pytest.mark.django_db
def test_health_check_answers_200_when_database_and_channel_layer_work():
    response = Client().get(HEALTH_URL)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok"},
    }


@pytest.mark.django_db
def test_health_check_answers_503_naming_an_unreachable_channel_layer(redis_down):
    response = Client().get(HEALTH_URL)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"] != "ok"


async def close_thread_connection():
    """Close the connection of the thread that runs sync code for async
    tests, so that the test database can be dropped at the end."""
    await sync_to_async(lambda: connection.close())()


def _unavailable(*args, **kwargs):
    raise OperationalError("connection refused")


@pytest.mark.django_db
def test_ingest_answers_503_when_the_key_lookup_finds_no_database(
    ingest_client, monkeypatch
):
    control = post_json(ingest_client, report(message="before the outage"))
    monkeypatch.setattr(IngestKey.objects, "get_from_key", _unavailable)

    response = post_json(ingest_client, report(message="during the outage"))

    assert control.status_code == 201
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["detail"].startswith("The journal's database")


@pytest.mark.django_db
def test_staff_page_says_the_journal_is_degraded_when_the_session_fails(
    staff_user, monkeypatch
):
    client = Client()
    client.force_login(staff_user)
    control = client.get("/staff/")
    monkeypatch.setattr(SessionStore, "load", _unavailable)
    monkeypatch.setattr(middleware, "database_answers", lambda: False)

    response = client.get("/staff/")
    feed = client.get(FEED_URL)

    assert control.status_code == 200
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"The journal is degraded" in response.content
    assert feed.status_code == 503
    assert feed.json()["detail"].startswith("The journal's database")


@pytest.mark.django_db
def test_staff_page_error_is_no_outage_while_the_database_answers(
    staff_user, monkeypatch, caplog
):
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    monkeypatch.setattr(
        "runtime_errors.views.selectors.runtime_error_list", _unavailable
    )

    with caplog.at_level(logging.ERROR, logger="runtime_errors.middleware"):
        answered = client.get("/staff/")
    outages = [r for r in caplog.records if r.name == "runtime_errors.middleware"]
    monkeypatch.setattr(middleware, "database_answers", lambda: False)
    away = client.get("/staff/")

    assert answered.status_code == 500
    assert outages == []
    assert away.status_code == 503
    assert b"The journal is degraded" in away.content


@pytest.mark.django_db(transaction=True)
async def test_staff_socket_says_degraded_when_the_session_lookup_fails(
    staff_user, monkeypatch
):
    cookie = await sync_to_async(session_cookie)(staff_user)
    control = socket_for(cookie)
    assert (await control.connect())[0]
    assert (await control.receive_json_from())["type"] == "snapshot"
    await control.disconnect()

    async def unavailable_user(scope):
        raise OperationalError("connection refused")

    monkeypatch.setattr("channels.auth.get_user", unavailable_user)
    socket = socket_for(cookie)
    connected, _ = await socket.connect()
    message = await socket.receive_json_from()
    closed = await socket.receive_output()

    assert connected
    assert message["type"] == "journal.degraded"
    assert message["stack"] is None
    assert closed == {"type": "websocket.close", "code": 4503}


@pytest.mark.django_db(transaction=True)
async def test_staff_socket_says_degraded_when_the_snapshot_fails(
    staff_user, monkeypatch
):
    cookie = await sync_to_async(session_cookie)(staff_user)
    monkeypatch.setattr(push, "runtime_error_feed", _unavailable)

    socket = socket_for(cookie)
    connected, _ = await socket.connect()
    message = await socket.receive_json_from()
    closed = await socket.receive_output()

    await close_thread_connection()

    assert connected
    assert message["type"] == "journal.degraded"
    assert closed == {"type": "websocket.close", "code": 4503}
