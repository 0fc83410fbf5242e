"""A live server loses its database and gets it back, in one process."""

import time
import uuid

import httpx
import pytest
from django.db import connection

from runtime_errors.models import RuntimeError

from .conftest import INGEST_URL, report
from .live import shared_database_url, staff_session
from .tcp_proxy import TcpProxy

pytestmark = pytest.mark.live

RECOVERY_SECONDS = 30


@pytest.fixture
def database_proxy():
    settings = connection.settings_dict
    proxy = TcpProxy(
        (settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
    ).start()
    yield proxy
    proxy.cut()


def through(proxy):
    settings = connection.settings_dict
    direct = f"{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}"
    return shared_database_url().replace(direct, f"127.0.0.1:{proxy.port}", 1)


def test_ingest_answers_503_without_the_database_and_201_once_it_is_back(
    live_servers, database_proxy, ingest_key
):
    server = live_servers(
        env={
            "DATABASE_URL": through(database_proxy),
            "DATABASE_POOL_TIMEOUT": "1",
        }
    )
    ingest = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Api-Key {ingest_key}"},
        timeout=10,
    )
    staff = staff_session(server)
    lost_message = f"sent during the outage {uuid.uuid4()}"

    before = ingest.post(INGEST_URL, json=report(message="before the outage"))
    database_proxy.cut()
    during = ingest.post(INGEST_URL, json=report(message=lost_message))
    health_during = httpx.get(f"{server.url}/healthz", timeout=10)
    page_during = staff.get("/staff/")
    database_proxy.start()
    after, attempts, waited = _post_until_stored(ingest, "after the outage")
    health_after = httpx.get(f"{server.url}/healthz", timeout=10)
    ingest.close()
    staff.close()

    print(f"recovered after {attempts} attempts in {waited:.2f} s")
    assert before.status_code == 201
    assert during.status_code == 503
    assert int(during.headers["Retry-After"]) > 0
    assert health_during.status_code == 503
    assert health_during.json()["checks"]["database"] != "ok"
    assert page_during.status_code == 503
    assert "The journal is degraded" in page_during.text
    assert after.status_code == 201
    assert health_after.status_code == 200
    assert not RuntimeError.objects.filter(message=lost_message).exists()
    assert RuntimeError.objects.filter(pk=after.json()["id"]).exists()


def _post_until_stored(client, message):
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        response = client.post(INGEST_URL, json=report(message=message))
        waited = time.monotonic() - started
        if response.status_code != 503 or waited > RECOVERY_SECONDS:
            return response, attempts, waited
        time.sleep(0.2)
