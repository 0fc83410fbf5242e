"""Inputs that broke systems like this one, sent through the real entry points.

One test per case in the shared case collection (BC-xx), asserting the
behaviour each case expects.
"""

import json
import logging
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from runtime_errors.models import RuntimeError
from runtime_errors.push import STAFF_GROUP

from .conftest import (
    FEED_URL,
    INGEST_URL,
    STAFF_URL,
    post_json,
    report,
    session_cookie,
    socket_for,
    staff_socket,
)
from .live import post_fifty_identical_reports, staff_session

ADMIN_URL = "/admin/runtime_errors/runtimeerror/"
PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Close the connections that requests made from sync_to_async opened."""
    yield
    await sync_to_async(connections.close_all)()


def post_raw(client, raw):
    return client.post(INGEST_URL, data=raw, content_type="application/json")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("field", ["stack", "message", "source", "job", "namespace"])
async def test_bc01_nul_in_any_text_field_is_stored_replaced_and_pushed(
    ingest_client, staff_user, field
):
    values = {
        "level": "error",
        "source": "billing-worker",
        "message": "header decode failed",
        "stack": 'Traceback (most recent call last):\n  File "worker.py", line 12',
        "occurred_at": "2024-05-01T10:00:00Z",
        "correlation_id": "corr-bc01",
    }
    values[field] = "bad byte \x00 in header; tail-text-after-nul"
    raw = json.dumps(values)
    assert "\\u0000" in raw
    socket = await staff_socket(staff_user)

    response = await sync_to_async(post_raw)(ingest_client, raw)
    pushed = await socket.receive_json_from()
    await socket.disconnect()

    assert response.status_code == 201
    rows = [
        row async for row in RuntimeError.objects.filter(correlation_id="corr-bc01")
    ]
    assert len(rows) == 1
    assert getattr(rows[0], field) == "bad byte \ufffd in header; tail-text-after-nul"
    assert pushed["type"] == "runtime_error.created"
    assert pushed["error"]["id"] == rows[0].id
    assert pushed["error"][field].endswith("tail-text-after-nul")


@pytest.mark.django_db(transaction=True)
async def test_bc03_lone_surrogates_are_replaced_and_a_valid_pair_is_kept(
    ingest_client, staff_client, staff_user
):
    raw = (
        '{"level":"error","source":"web","message":"emoji cut \\ud83d here",'
        '"stack":"ok pair \\ud83d\\ude00 kept","payload":{"note":"\\udc00",'
        '"nested":["x\\ud800"]},"correlation_id":"corr-bc03",'
        '"occurred_at":"2024-05-01T10:00:00Z"}'
    )
    socket = await staff_socket(staff_user)

    response = await sync_to_async(post_raw)(ingest_client, raw)
    pushed = await socket.receive_json_from()
    await socket.disconnect()
    served = await sync_to_async(staff_client.get)(
        f"{STAFF_URL}{response.json()['id']}/"
    )

    assert response.status_code == 201
    row = await RuntimeError.objects.aget(correlation_id="corr-bc03")
    assert row.message == "emoji cut \ufffd here"
    assert row.stack == "ok pair \U0001f600 kept"
    assert row.payload == {"note": "\ufffd", "nested": ["x\ufffd"]}
    assert served.status_code == 200
    assert served.content.decode("utf-8")
    assert served.json()["stack"] == "ok pair \U0001f600 kept"
    assert pushed["error"]["message"] == "emoji cut \ufffd here"
    assert pushed["error"]["stack"] == "ok pair \U0001f600 kept"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("opener", "closer", "depth"),
    [('{"a":', "}", 5000), ('{"a":', "}", 900), ("[", "]", 5000)],
)
def test_bc05_deeply_nested_payload_is_a_400_and_the_process_stays_healthy(
    ingest_client, opener, closer, depth
):
    raw = (
        '{"level":"error","source":"svc","message":"deep","payload":'
        + opener * depth
        + "1"
        + closer * depth
        + "}"
    )

    response = post_raw(ingest_client, raw)
    after = post_json(ingest_client, report())

    assert response.status_code == 400
    assert "nested too deeply" in json.dumps(response.json()).lower()
    assert after.status_code == 201
    assert RuntimeError.objects.count() == 1


@pytest.mark.django_db(transaction=True)
async def test_bc06_passwords_in_connection_uris_never_leave_the_product(
    ingest_client, staff_client, admin_client, staff_user
):
    body = {
        "level": "error",
        "source": "orders-api",
        "correlation_id": "corr-bc06",
        "message": "could not connect: postgres://app_user:Sup3rS3cret@db.internal:5432/app",
        "stack": (
            "redis.exceptions.ConnectionError: "
            "redis://:r3dis-pass@cache.internal:6379/0 refused"
        ),
        "payload": {
            "broker": "amqp://guest:guestpw@mq.internal:5672//",
            "cfg": ["mysql://root:rootpw@10.0.0.5/db"],
        },
        "occurred_at": "2024-05-01T10:00:00Z",
    }
    socket = await staff_socket(staff_user)

    answer = (await sync_to_async(post_json)(ingest_client, body)).json()
    pushed = await socket.receive_json_from()
    await socket.disconnect()
    body["message"] = body["message"].replace("Sup3rS3cret", "0therPassw0rd")
    again = (await sync_to_async(post_json)(ingest_client, body)).json()

    row = await RuntimeError.objects.aget(correlation_id="corr-bc06")
    pages = [
        await sync_to_async(staff_client.get)(f"{STAFF_URL}{answer['id']}/"),
        await sync_to_async(staff_client.get)(f"{STAFF_URL}?source=orders-api"),
        await sync_to_async(admin_client.get)(f"{ADMIN_URL}{answer['id']}/change/"),
        await sync_to_async(admin_client.get)(f"{ADMIN_URL}?q=corr-bc06"),
    ]
    surfaces = [
        row.message + row.stack + json.dumps(row.payload),
        json.dumps(pushed),
        *(page.content.decode() for page in pages),
    ]
    for text in surfaces:
        for secret in (
            "Sup3rS3cret",
            "r3dis-pass",
            "guestpw",
            "rootpw",
            "0therPassw0rd",
        ):
            assert secret not in text
    assert all(page.status_code == 200 for page in pages)
    assert row.message == (
        "could not connect: postgres://app_user:[redacted]@db.internal:5432/app"
    )
    assert "redis://:[redacted]@cache.internal:6379/0 refused" in row.stack
    assert row.payload == {
        "broker": "amqp://guest:[redacted]@mq.internal:5672//",
        "cfg": ["mysql://root:[redacted]@10.0.0.5/db"],
    }
    assert again["fingerprint"] == answer["fingerprint"]
    assert again["id"] == answer["id"]


@pytest.mark.django_db
def test_bc09_volatile_hex_values_do_not_split_groups(ingest_client, staff_client):
    steps = [
        report(
            source="scheduler",
            message="<Worker object at 0x7f3a2c1d9e80> timed out",
            stack='TimeoutError\n  File "sched.py", line 40, in wait',
            occurred_at="2024-05-01T10:00:00Z",
        ),
        report(
            source="scheduler",
            message="<Worker object at 0x7f3a2c1e0b10> timed out",
            stack='TimeoutError\n  File "sched.py", line 40, in wait',
            occurred_at="2024-05-01T10:00:05Z",
        ),
        report(
            source="cache",
            message="cache key 9f86d081884c7d65 missing",
            stack="",
            occurred_at="2024-05-01T10:01:00Z",
        ),
        report(
            source="cache",
            message="cache key 2c26b46b68ffc68f missing",
            stack="",
            occurred_at="2024-05-01T10:01:05Z",
        ),
        report(
            source="scheduler",
            message="<Worker object at 0x7f3a2c1d9e80> refused",
            stack="",
            occurred_at="2024-05-01T10:02:00Z",
        ),
    ]

    answers = [post_json(ingest_client, body).json() for body in steps]
    listed = staff_client.get(STAFF_URL).json()
    feed = staff_client.get(FEED_URL).json()

    assert answers[0]["id"] == answers[1]["id"]
    assert answers[1]["occurrences"] == 2
    assert answers[2]["id"] == answers[3]["id"]
    assert answers[3]["occurrences"] == 2
    assert answers[4]["id"] not in {answers[0]["id"], answers[2]["id"]}
    assert listed["count"] == 3
    assert sorted(error["occurrences"] for error in listed["results"]) == [1, 2, 2]
    assert feed["active_count"] == 3
    assert len({error["id"] for error in feed["results"]}) == 3


@pytest.mark.live
def test_bc11_concurrent_identical_reports_make_one_group_of_fifty(
    live_servers, ingest_key
):
    server = live_servers()

    answers = post_fifty_identical_reports(server, ingest_key, correlation="corr-bc11")
    with staff_session(server) as staff:
        listed = staff.get(f"{STAFF_URL}?source=payments").json()

    assert len(answers) == 50
    assert all(response.status_code == 201 for response in answers)
    assert len({response.json()["id"] for response in answers}) == 1
    assert listed["count"] == 1
    assert listed["results"][0]["occurrences"] == 50
    assert RuntimeError.objects.filter(source="payments").count() == 1


@pytest.mark.django_db
def test_bc12_timestamps_with_any_offset_are_stored_as_utc(ingest_client):
    steps = [
        ("eu-svc", "2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("nl-svc", "2024-05-01T12:00:00.250-03:30", "2024-05-01T15:30:00.250000Z"),
        ("utc-svc", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    ]
    for source, given, _ in steps:
        response = post_json(ingest_client, report(source=source, occurred_at=given))
        assert response.status_code == 201

    junk = post_json(
        ingest_client, report(source="bad-svc", occurred_at="01/05/2024 noon")
    )

    for source, _, expected in steps:
        stored = RuntimeError.objects.get(source=source).occurred_at
        assert stored.isoformat().replace("+00:00", "Z") == expected
    assert junk.status_code == 400
    assert list(junk.json()) == ["occurred_at"]
    assert not RuntimeError.objects.filter(source="bad-svc").exists()
    assert not RuntimeError.objects.filter(occurred_at__isnull=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("since=yesterday", "since"),
        ("level=LOUD", "level"),
        ("status=maybe", "status"),
        ("ordering=password", "ordering"),
        ("page_size=0", "page_size"),
        ("until=2024-13-45", "until"),
    ],
)
def test_bc16_invalid_filter_values_are_400s_naming_the_parameter(
    staff_client, ingest_client, query, parameter
):
    post_json(ingest_client, report())

    response = staff_client.get(f"{STAFF_URL}?{query}", HTTP_ACCEPT="application/json")
    accepted = staff_client.get(STAFF_URL, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert parameter in response.json()
    assert "results" not in response.json()
    assert accepted.status_code == 200
    assert accepted.json()["count"] == 1


def staff_group_members(layer):
    return set(getattr(layer, "groups", {}).get(STAFF_GROUP, {}))


@pytest.mark.django_db(transaction=True)
async def test_bc19_refused_sockets_leave_no_trace_and_staff_still_get_alerts(
    ingest_client, plain_user, staff_user, caplog
):
    caplog.set_level(logging.INFO)
    layer = get_channel_layer()
    members_before = staff_group_members(layer)

    anonymous = socket_for()
    viewer = socket_for(await sync_to_async(session_cookie)(plain_user))
    anonymous_ok, anonymous_code = await anonymous.connect()
    viewer_ok, viewer_code = await viewer.connect()
    for _ in range(20):
        again = socket_for()
        assert not (await again.connect())[0]
        await again.disconnect()
    members_after_refusals = staff_group_members(layer)
    staff = await staff_socket(staff_user)
    members_with_staff = staff_group_members(layer)

    answer = (await sync_to_async(post_json)(ingest_client, report())).json()
    pushed = await staff.receive_json_from()
    await staff.disconnect()

    assert (anonymous_ok, anonymous_code) == (False, 4403)
    assert (viewer_ok, viewer_code) == (False, 4403)
    assert members_after_refusals == members_before
    assert len(members_with_staff - members_before) == 1
    assert await anonymous.receive_nothing()
    assert await viewer.receive_nothing()
    assert pushed["type"] == "runtime_error.created"
    assert pushed["error"]["id"] == answer["id"]
    assert [error["id"] for error in pushed["stack"]] == [answer["id"]]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("Refused a staff alert socket" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
async def test_bc21_hostile_markup_is_stored_verbatim_and_always_escaped(
    ingest_client, staff_client, admin_client, staff_user
):
    body = {
        "level": "error",
        "source": "<svg/onload=alert('s')>",
        "correlation_id": "corr-bc21",
        "message": "<img src=x onerror=alert('m')>",
        "stack": "</textarea><script>alert(3)</script>",
        "payload": {
            "user": {
                "name": '"><script>alert(1)</script>',
                "profile": "javascript:alert(2)",
            }
        },
        "occurred_at": "2024-05-01T10:00:00Z",
    }
    socket = await staff_socket(staff_user)

    answer = (await sync_to_async(post_json)(ingest_client, body)).json()
    pushed = await socket.receive_json_from()
    await socket.disconnect()
    error_id = answer["id"]
    get = sync_to_async
    html_pages = [
        await get(admin_client.get)(f"{ADMIN_URL}?q=corr-bc21"),
        await get(admin_client.get)(f"{ADMIN_URL}{error_id}/change/"),
        await get(staff_client.get)(f"/staff/runtime-errors/{error_id}/"),
        await get(staff_client.get)("/staff/?status=all"),
    ]
    api = await get(staff_client.get)(f"{STAFF_URL}{error_id}/")

    row = await RuntimeError.objects.aget(correlation_id="corr-bc21")
    assert (row.source, row.message, row.stack) == (
        body["source"],
        body["message"],
        body["stack"],
    )
    assert row.payload == body["payload"]
    for page in html_pages:
        text = page.content.decode()
        assert page.status_code == 200
        assert "<img src=x" not in text
        assert "<script>alert" not in text
        assert "<svg/onload" not in text
        assert 'href="javascript:' not in text.lower()
        assert "script-src 'self'" in page["Content-Security-Policy"]
    assert (
        "&lt;img src=x onerror=alert(&#x27;m&#x27;)&gt;"
        in html_pages[1].content.decode()
    )
    assert "&lt;/textarea&gt;&lt;script&gt;" in html_pages[2].content.decode()
    assert api["Content-Type"] == "application/json"
    assert api.json()["message"] == body["message"]
    assert pushed["error"]["message"] == body["message"]
    assert pushed["error"]["payload"] == body["payload"]
    alert_script = (PROJECT_DIR / "static/runtime_errors/alert-stack.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in alert_script
    assert "textContent" in alert_script
