"""Concurrent services reporting one flapping dependency through HTTP."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum

from runtime_errors.models import RuntimeError

from . import load
from .conftest import session_cookie
from .live import post_fifty_identical_reports, staff_session

pytestmark = pytest.mark.live

PROCESSES = 8
REPORTS_EACH = 500
SOURCES = [f"flapping-{name}" for name in "abcdefghijklmnopqrst"]


def start_load(server, ingest_key):
    return [
        load.start(
            {
                "urls": [server.url],
                "key": ingest_key,
                "sources": SOURCES,
                "reports": REPORTS_EACH,
                "batch": 1,
            }
        )
        for _ in range(PROCESSES)
    ]


def fingerprints_with_two_active_rows():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fingerprint FROM runtime_errors WHERE viewed_at IS NULL "
            "GROUP BY fingerprint HAVING count(*) > 1"
        )
        return cursor.fetchall()


def assert_load_accepted_everything(processes):
    results = [load.result(process) for process in processes]
    statuses = {}
    for outcome in results:
        for code, count in outcome["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    assert set(statuses) == {"201"}, statuses
    assert sum(outcome["accepted"] for outcome in results) == PROCESSES * REPORTS_EACH


def test_eight_processes_leave_twenty_active_rows_counting_every_report(
    live_servers, ingest_key
):
    server = live_servers()
    started = time.monotonic()

    assert_load_accepted_everything(start_load(server, ingest_key))

    elapsed = time.monotonic() - started
    rows = RuntimeError.objects.filter(source__in=SOURCES)
    print(f"\n{PROCESSES * REPORTS_EACH} reports in {elapsed:.1f}s")
    assert rows.count() == 20
    assert rows.filter(viewed_at__isnull=True).count() == 20
    assert rows.aggregate(total=Sum("occurrences"))["total"] == 4000


def test_dismissals_racing_the_load_lose_no_report_nor_double_an_alert(
    live_servers, ingest_key
):
    server = live_servers()
    processes = start_load(server, ingest_key)
    dismissed, samples = [], 0

    with staff_session(server) as staff:
        while any(process.poll() is None for process in processes):
            assert fingerprints_with_two_active_rows() == []
            samples += 1
            active = list(
                RuntimeError.objects.filter(
                    source__in=SOURCES[::3], viewed_at__isnull=True
                ).values_list("id", flat=True)
            )
            if active:
                answer = staff.post(
                    "/api/v1/staff/runtime-errors/viewed/", json={"ids": active}
                )
                assert answer.status_code == 200
                dismissed += answer.json()["viewed"]
            time.sleep(0.1)
    assert_load_accepted_everything(processes)

    rows = RuntimeError.objects.filter(source__in=SOURCES)
    first_dismissal = rows.exclude(viewed_at=None).order_by("viewed_at").first()
    print(f"\n{len(dismissed)} dismissals in {samples} samples during the load")
    assert len(dismissed) >= 3
    assert rows.filter(last_seen_at__gt=first_dismissal.viewed_at).exists()
    active = rows.filter(viewed_at__isnull=True).count()
    assert len(set(dismissed)) == len(dismissed)
    assert rows.count() == active + len(dismissed)
    assert active >= 20 - len(SOURCES[::3])
    assert rows.aggregate(total=Sum("occurrences"))["total"] == 4000
    assert fingerprints_with_two_active_rows() == []


def test_a_staff_socket_sees_one_group_for_fifty_concurrent_identical_reports(
    live_servers, ingest_key
):
    server = live_servers()
    staff, _ = get_user_model().objects.get_or_create(
        username="oncall", defaults={"is_staff": True}
    )
    socket = load.SocketReader(server, session_cookie(staff))

    answers = post_fifty_identical_reports(server, ingest_key)

    group = answers[0].json()
    fingerprint = group["fingerprint"]
    socket.wait_for(
        lambda m: (
            m["type"] == "runtime_error.updated"
            and m["active_count"] == 1
            and m["stack"][0]["occurrences"] == 50
        )
    )
    # Long enough for a late push to be counted too.
    time.sleep(1)
    socket.close()
    messages = [message for _, message in socket.messages]
    frames = [m for m in messages if m["type"].startswith("runtime_error.")]
    in_stacks = {
        entry["id"]
        for message in messages
        for entry in message["stack"]
        if entry["fingerprint"] == fingerprint
    }
    final = [e for e in messages[-1]["stack"] if e["fingerprint"] == fingerprint]

    assert len(answers) == 50
    assert all(response.status_code == 201 for response in answers)
    assert {response.json()["id"] for response in answers} == {group["id"]}
    assert RuntimeError.objects.get(source="payments").occurrences == 50
    assert [m["type"] for m in frames].count("runtime_error.created") == 1
    assert {m["error"]["id"] for m in frames} == {group["id"]}
    assert {tuple(m["ids"]) for m in frames} == {(group["id"],)}
    assert in_stacks == {group["id"]}
    assert len(final) == 1
    assert final[0]["occurrences"] == 50


def test_one_active_row_per_fingerprint_is_a_unique_index_in_the_database(
    transactional_db,
):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'runtime_errors' "
            "AND indexname = 'runtime_errors_one_active_per_fingerprint'"
        )
        (definition,) = cursor.fetchone()

    assert definition.startswith("CREATE UNIQUE INDEX")
    assert definition.endswith("(fingerprint) WHERE (viewed_at IS NULL)")
