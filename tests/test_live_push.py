"""Live push across daphne processes sharing PostgreSQL and Redis."""

import os
import time

import pytest
import redis
from django.contrib.auth import get_user_model

from runtime_errors.models import RuntimeError

from . import load
from .conftest import report, session_cookie
from .live import staff_session

pytestmark = pytest.mark.live

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")
STORM_SECONDS = 5
GROUP_EXPIRY = 2


@pytest.fixture
def redis_servers(live_servers):
    """Return a function that starts live servers on a freshly emptied Redis."""
    redis.Redis.from_url(REDIS_URL).flushdb()

    def start(**env):
        return live_servers(redis_url=REDIS_URL, env=env)

    return start


@pytest.fixture
def staff_cookie(transactional_db):
    user, _ = get_user_model().objects.get_or_create(
        username="oncall", defaults={"is_staff": True}
    )
    return session_cookie(user)


def test_reports_and_dismissals_reach_sockets_held_by_another_process(
    redis_servers, ingest_key, staff_cookie
):
    env = {"CHANNEL_LAYER_GROUP_EXPIRY": str(GROUP_EXPIRY)}
    first, second = redis_servers(**env), redis_servers(**env)
    sockets = [
        load.SocketReader(first, staff_cookie),
        load.SocketReader(second, staff_cookie),
    ]
    # Past the group expiry, only renewed memberships still hear pushes.
    time.sleep(2 * GROUP_EXPIRY)

    answer = load.httpx.post(
        f"{second.url}{load.INGEST_PATH}",
        json=report(message="pool exhausted"),
        headers={"Authorization": f"Api-Key {ingest_key}"},
    ).json()
    created = [
        socket.wait_for(lambda m: m["type"] == "runtime_error.created")
        for socket in sockets
    ]
    with staff_session(first) as staff:
        staff.post(f"/api/v1/staff/runtime-errors/{answer['id']}/viewed/")
    viewed = [
        socket.wait_for(lambda m: m["type"] == "runtime_error.viewed")
        for socket in sockets
    ]
    for socket in sockets:
        socket.close()

    for message in created:
        assert message["error"]["id"] == answer["id"]
        assert message["active_count"] == 1
    for message in viewed:
        assert message["ids"] == [answer["id"]]
        assert message["stack"] == []


def test_storm_of_one_error_pushes_few_updates_ending_with_the_exact_count(
    redis_servers, ingest_key, staff_cookie
):
    servers = [redis_servers(), redis_servers()]
    urls = [server.url for server in servers]
    sockets = [load.SocketReader(server, staff_cookie) for server in servers]
    options = {
        "urls": urls,
        "key": ingest_key,
        "sources": ["storm"],
        "seconds": STORM_SECONDS,
        "batch": 10,
        "new_every": 5,
    }
    started = time.monotonic()

    results = [load.result(p) for p in [load.start(options) for _ in range(4)]]

    elapsed = time.monotonic() - started
    reports = sum(result["accepted"] for result in results)
    new_errors = sorted(i for result in results for i in result["created"])
    storm = RuntimeError.objects.get(source="storm")
    requests = sum(result["requests"] for result in results)
    print(
        f"\nstorm: {reports} reports in {requests} requests in {elapsed:.1f}s, "
        f"{reports / elapsed:.0f} reports/s"
    )
    assert {code for r in results for code in r["statuses"]} == {"201"}
    assert reports / elapsed >= 100
    assert storm.occurrences == reports
    for socket in sockets:
        final = socket.wait_for(
            lambda m, storm=storm: (
                m["type"] == "runtime_error.updated"
                and m["error"]["id"] == storm.id
                and m["error"]["occurrences"] == reports
            )
        )
        time.sleep(1)
        socket.close()
        updates = [
            m for m in socket.of_type("runtime_error.updated") if storm.id in m["ids"]
        ]
        print(f"storm: one socket got {len(updates)} updates")
        assert len(updates) <= 5 * elapsed
        assert updates[-1] == final
        created = sorted(
            m["error"]["id"] for m in socket.of_type("runtime_error.created")
        )
        assert created == sorted([storm.id, *new_errors])


def test_a_keys_throttle_budget_is_shared_by_every_server_process(
    redis_servers, ingest_key
):
    from runtime_errors.models import IngestKey

    _, other_key = IngestKey.objects.create_key(name="quiet-service")
    first, second = (
        redis_servers(RUNTIME_ERRORS_INGEST_RATE="4/min"),
        redis_servers(RUNTIME_ERRORS_INGEST_RATE="4/min"),
    )

    def post(server, key, number):
        return load.httpx.post(
            f"{server.url}{load.INGEST_PATH}",
            json=report(message=f"flapping {number}"),
            headers={"Authorization": f"Api-Key {key}"},
        ).status_code

    statuses = [post((first, second)[n % 2], ingest_key, n) for n in range(6)]
    other = post(first, other_key, 99)

    assert statuses == [201, 201, 201, 201, 429, 429]
    assert other == 201
