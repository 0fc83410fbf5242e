"""Live push across daphne processes sharing PostgreSQL and Redis."""

import math
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
UPDATE_INTERVAL = 0.5
DISMISS_EVERY = 0.5
IDLE_SECONDS = 7


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


def test_an_idle_socket_on_redis_stays_open_and_hears_the_next_push(
    redis_servers, ingest_key, staff_cookie
):
    server = redis_servers()
    socket = load.SocketReader(server, staff_cookie)
    # Longer than the Redis client's read timeout (5 s), which a socket
    # waiting on an idle channel must not run into.
    time.sleep(IDLE_SECONDS)
    open_after_idling = socket.is_open()

    answer = load.httpx.post(
        f"{server.url}{load.INGEST_PATH}",
        json=report(message="idle socket check"),
        headers={"Authorization": f"Api-Key {ingest_key}"},
    ).json()
    created = socket.wait_for(lambda m: m["type"] == "runtime_error.created")
    socket.close()

    assert open_after_idling
    assert created["error"]["id"] == answer["id"]
    assert "Timeout reading" not in server.log()
    assert "Exception inside application" not in server.log()


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
    redis_servers, ingest_key, staff_cookie, capsys
):
    env = {"RUNTIME_ERRORS_UPDATE_INTERVAL": str(UPDATE_INTERVAL)}
    servers = [redis_servers(**env), redis_servers(**env)]
    sockets = [load.SocketReader(server, staff_cookie) for server in servers]
    options = {
        "urls": [server.url for server in servers],
        "key": ingest_key,
        "sources": ["storm"],
        "seconds": STORM_SECONDS,
        "batch": 10,
        "new_every": 5,
    }

    processes = [load.start(options) for _ in range(4)]
    dismissals = dismiss_new_errors_until_done(servers, processes)
    results = [load.result(process) for process in processes]

    first = min(result["first_sent"] for result in results)
    last = max(result["last_answered"] for result in results)
    span = last - first
    reports = sum(result["accepted"] for result in results)
    requests = sum(result["requests"] for result in results)
    new_errors = sorted(i for result in results for i in result["created"])
    storm = RuntimeError.objects.get(source="storm")
    for socket in sockets:
        socket.wait_for(
            lambda m: (
                m["type"] == "runtime_error.updated"
                and m["error"]["id"] == storm.id
                and m["error"]["occurrences"] == reports
            )
        )
        socket.wait_for(
            lambda m: m["type"] == "runtime_error.viewed" and m["ids"] == dismissals[-1]
        )
    # Long enough for an update sent after the final count to be counted.
    time.sleep(2 * UPDATE_INTERVAL)
    for socket in sockets:
        socket.close()
    updates = [
        [m for m in socket.of_type("runtime_error.updated") if storm.id in m["ids"]]
        for socket in sockets
    ]
    # Each update takes one slot of the interval on the wall clock that all
    # processes share: the slots the storm ran through, one for a push that
    # goes out just after its request was answered, and one for the trailing
    # update after that. A bound per process would allow twice as many.
    slots = math.floor(last / UPDATE_INTERVAL) - math.floor(first / UPDATE_INTERVAL)
    bound = slots + 3

    with capsys.disabled():
        print(
            f"\nstorm: {reports} reports in {requests} requests to 2 servers over "
            f"{span:.2f} s (first sent to last answered), {reports / span:.0f} "
            f"reports/s; updates per socket {[len(u) for u in updates]}, bound "
            f"{bound}; {len(new_errors)} created, {len(dismissals)} dismissals"
        )
    assert {code for r in results for code in r["statuses"]} == {"201"}
    assert reports / span >= 100
    assert storm.occurrences == reports
    assert len(dismissals) >= 3
    for socket, received in zip(sockets, updates, strict=True):
        assert len(received) <= bound
        assert len(received) <= 5 * span
        assert received[-1]["error"]["occurrences"] == reports
        created = sorted(
            m["error"]["id"] for m in socket.of_type("runtime_error.created")
        )
        assert created == sorted([storm.id, *new_errors])
        viewed = sorted(m["ids"] for m in socket.of_type("runtime_error.viewed"))
        assert viewed == sorted(dismissals)


def dismiss_new_errors_until_done(servers, processes):
    """Dismiss the storm's new errors in bulk, on each server in turn, until
    the load processes end; return the ids each dismissal marked."""
    dismissals = []
    with staff_session(servers[0]) as first, staff_session(servers[1]) as second:
        while any(process.poll() is None for process in processes):
            time.sleep(DISMISS_EVERY)
            active = list(
                RuntimeError.objects.filter(
                    source="new", viewed_at__isnull=True
                ).values_list("id", flat=True)
            )
            if not active:
                continue
            staff = (first, second)[len(dismissals) % 2]
            answer = staff.post(
                "/api/v1/staff/runtime-errors/viewed/", json={"ids": active}
            )
            assert answer.status_code == 200
            dismissals.append(sorted(answer.json()["viewed"]))
    return dismissals


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
