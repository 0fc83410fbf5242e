"""What services and staff meet at the edges: slashes, odd frames, origins."""

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from django.contrib import admin

from runtime_errors.models import RuntimeError

from .conftest import (
    INGEST_URL,
    STAFF_URL,
    post_json,
    report,
    session_cookie,
    socket_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_ingest_path_without_trailing_slash_is_served(ingest_client):
    without = post_json(ingest_client, report(), path="/api/v1/ingest/runtime-errors")
    with_slash = post_json(ingest_client, report(message="another kind"))

    assert without.status_code == 201
    assert with_slash.status_code == 201
    assert RuntimeError.objects.count() == 2


def test_viewed_action_without_trailing_slash_is_served(ingest_client, staff_client):
    error_id = post_json(ingest_client, report()).json()["id"]

    response = staff_client.post(f"{STAFF_URL}{error_id}/viewed")

    assert response.status_code == 200
    assert response.json()["viewed_at"] is not None


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path",
    [
        f"{STAFF_URL}99999999999999999999999/",
        f"{STAFF_URL}-1/viewed/",
        f"{STAFF_URL}9999999999999999999/",
        "/api/v1/nope/",
    ],
)
def test_unknown_api_path_is_a_json_404(staff_client, settings, path, debug):
    settings.DEBUG = debug
    response = staff_client.get(path)
    page = staff_client.get("/staff/nope/")
    known = staff_client.get(STAFF_URL)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}
    assert b"URLconf" not in response.content
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert known.status_code == 200


def test_viewed_action_on_an_id_past_the_database_range_is_a_json_404(
    staff_client, ingest_client
):
    error_id = post_json(ingest_client, report()).json()["id"]

    missing = staff_client.post(f"{STAFF_URL}9999999999999999999/viewed/")
    found = staff_client.post(f"{STAFF_URL}{error_id}/viewed/")

    assert missing.status_code == 404
    assert "detail" in missing.json()
    assert found.status_code == 200


def test_deeply_nested_body_to_a_staff_action_is_a_400(staff_client, ingest_client):
    error_id = post_json(ingest_client, report()).json()["id"]
    deep = '{"ids":' + "[" * 5000 + "]" * 5000 + "}"

    refused = staff_client.post(
        f"{STAFF_URL}viewed/", data=deep, content_type="application/json"
    )
    accepted = staff_client.post(
        f"{STAFF_URL}viewed/",
        data=json.dumps({"ids": [error_id]}),
        content_type="application/json",
    )

    assert refused.status_code == 400
    assert "nested too deeply" in refused.json()["detail"]
    assert accepted.json()["viewed"] == [error_id]


async def test_socket_ignores_frames_it_cannot_read_and_stays_open(staff_user):
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    await socket.receive_json_from()

    await socket.send_to(text_data="hello")
    await socket.send_to(text_data="[" * 5000)
    await socket.send_to(bytes_data=b"\x00\x01binary")
    await socket.send_json_to({"type": "resync"})
    answer = await socket.receive_json_from(timeout=5)
    await socket.disconnect()

    assert answer["type"] == "snapshot"


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:9",
        b"https://localhost:8443",
        b"http://evil.example",
        b"https://localhost.evil.example",
        b"null",
        b"file://",
    ],
)
async def test_socket_refuses_an_origin_on_another_port_or_host(staff_user, origin):
    cookie = await sync_to_async(session_cookie)(staff_user)
    foreign = socket_for(cookie, origin=origin)
    same = socket_for(cookie)

    foreign_ok, _ = await foreign.connect()
    same_ok, _ = await same.connect()

    assert not foreign_ok
    assert same_ok
    await same.disconnect()


async def test_socket_behind_a_tls_proxy_accepts_the_https_page_it_serves(
    staff_user,
):
    # The proxy ends TLS and passes Host without a port; the socket arrives
    # as plain ws while the page's Origin is https.
    cookie = await sync_to_async(session_cookie)(staff_user)
    behind_proxy = socket_for(cookie, origin=b"https://localhost")
    other_port = socket_for(cookie, origin=b"https://localhost:8443")

    accepted, _ = await behind_proxy.connect()
    refused, _ = await other_port.connect()

    assert accepted
    assert not refused
    await behind_proxy.disconnect()


def test_access_log_redacts_secrets_in_query_strings(staff_client, caplog):
    with caplog.at_level(logging.INFO, logger="runtime_errors.access"):
        staff_client.get(STAFF_URL, {"q": "timeout", "api_key": "LOGLEAK2"})

    lines = [r.getMessage() for r in caplog.records if r.name.endswith("access")]
    assert len(lines) == 1
    assert "LOGLEAK2" not in lines[0]
    assert "q=timeout" in lines[0]
    assert " 200 " in lines[0]


def test_api_docs_page_runs_no_inline_script(staff_client):
    page = staff_client.get("/api/schema/docs/")
    script = staff_client.get("/api/schema/docs/?script=")

    assert page.status_code == 200
    assert b"<script>" not in page.content
    assert b"script-src 'self'" in page["Content-Security-Policy"].encode()
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_admin_offers_one_kind_of_key():
    from rest_framework_api_key.models import APIKey

    from runtime_errors.models import IngestKey

    assert not admin.site.is_registered(APIKey)
    assert admin.site.is_registered(IngestKey)


def test_level_filter_reads_levels_as_ingest_does(ingest_client, staff_client):
    post_json(ingest_client, report(level="error", message="one kind"))
    post_json(ingest_client, report(level="warning", message="other kind"))
    post_json(ingest_client, report(level="info", message="third kind"))

    both = staff_client.get(STAFF_URL, {"level": ["ERROR", "warn"]})
    refused = staff_client.get(STAFF_URL, {"level": "LOUD"})

    assert both.status_code == 200
    assert sorted(e["level"] for e in both.json()["results"]) == ["error", "warning"]
    assert refused.status_code == 400
    assert "level" in refused.json()


def test_too_many_query_parameters_is_a_400_not_a_500(ingest_client, staff_client):
    flood = "&".join(f"a{number}=b" for number in range(1001))
    few = "&".join(f"a{number}=b" for number in range(10))

    ingest = post_json(ingest_client, report(), path=f"{INGEST_URL}?{flood}")
    stored = RuntimeError.objects.count()
    ingest_control = post_json(ingest_client, report(), path=f"{INGEST_URL}?{few}")
    listing = staff_client.get(f"{STAFF_URL}?{flood}")
    control = staff_client.get(f"{STAFF_URL}?{few}")

    assert ingest.status_code == 400
    assert "too many parameters" in ingest.json()["detail"]
    assert stored == 0
    assert ingest_control.status_code == 201
    assert listing.status_code == 400
    assert control.status_code == 200
    assert control.json()["count"] == 1


@pytest.mark.parametrize("debug", [False, True])
def test_too_many_query_parameters_on_a_staff_page_is_a_400(
    staff_client, settings, debug
):
    settings.DEBUG = debug
    flood = "&".join(f"x{number}=1" for number in range(1001))

    refused = staff_client.get(f"/staff/?{flood}")
    control = staff_client.get("/staff/?x1=1")

    assert refused.status_code == 400
    assert "too many parameters" in refused.content.decode()
    assert control.status_code == 200


@pytest.mark.parametrize(
    ("named", "huge", "fine"),
    [("occurred_at", "9" * 400, "1714557600"), ("level", "9" * 400, "40")],
)
def test_huge_numbers_in_fields_are_400s_naming_the_field(
    ingest_client, named, huge, fine
):
    # A repeated key takes the last value, so "level" can be overridden too.
    def body(number):
        return '{"source": "s", "message": "m", "level": "error", ' + (
            f'"{named}": {number}}}'
        )

    response = ingest_client.post(
        INGEST_URL, data=body(huge), content_type="application/json"
    )
    accepted = ingest_client.post(
        INGEST_URL, data=body(fine), content_type="application/json"
    )

    assert response.status_code == 400
    assert named in response.json()
    assert accepted.status_code == 201
    assert RuntimeError.objects.count() == 1


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1" * 5000])
def test_numbers_json_cannot_hold_are_refused_plainly(ingest_client, number):
    body = '{"source": "s", "message": "m", "level": "error", "payload": {"a": '
    body += number + "}}"
    fine = body.replace(number, "1.5e10")

    refused = ingest_client.post(INGEST_URL, data=body, content_type="application/json")
    accepted = ingest_client.post(
        INGEST_URL, data=fine, content_type="application/json"
    )

    assert refused.status_code == 400
    assert "not finite or too long" in refused.json()["detail"]
    assert "sys." not in refused.json()["detail"]
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("parameter", "value", "in_range"),
    [
        ("until", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00-01:00"),
        ("since", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59+01:00"),
    ],
)
def test_date_bounds_out_of_range_in_utc_are_400s(
    staff_client, parameter, value, in_range
):
    response = staff_client.get(STAFF_URL, {parameter: value})
    page = staff_client.get("/staff/", {parameter: value})
    accepted = staff_client.get(STAFF_URL, {parameter: in_range})
    accepted_page = staff_client.get("/staff/", {parameter: in_range})

    assert response.status_code == 400
    assert parameter in response.json()
    assert page.status_code == 200
    assert b"Out of range once converted to UTC" in page.content
    assert accepted.status_code == 200
    assert accepted.json()["count"] == 0
    assert accepted_page.status_code == 200
    assert b"Out of range once converted to UTC" not in accepted_page.content


def test_access_log_cannot_be_forged_with_line_breaks(staff_client, caplog):
    forged = "\n2026-12-03 00:00:00,000 ERROR forged.logger FORGED"
    with caplog.at_level(logging.INFO, logger="runtime_errors.access"):
        staff_client.get("/healthz", {"x": forged + "\x00"})

    from runtime_errors.redaction import RedactingFilter, SingleLineFormatter

    (record,) = [r for r in caplog.records if r.name.endswith("access")]
    RedactingFilter().filter(record)
    line = SingleLineFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line
    assert "\x00" not in line
    assert "\\x0a2026-12-03" in line


def test_healthz_answers_405_to_a_post(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.get("/healthz").status_code == 200


async def test_open_socket_closes_once_its_session_is_logged_out(
    staff_user, ingest_client, monkeypatch
):
    from django.contrib.sessions.backends.db import SessionStore

    from runtime_errors import consumers

    monkeypatch.setattr(consumers, "SESSION_CHECK_SECONDS", 0)
    ending = await sync_to_async(session_cookie)(staff_user)
    staying = await sync_to_async(session_cookie)(staff_user)
    ended, kept = socket_for(ending), socket_for(staying)
    assert (await ended.connect())[0] and (await kept.connect())[0]
    await ended.receive_json_from()
    await kept.receive_json_from()

    await sync_to_async(SessionStore(ending).delete)()
    await sync_to_async(post_json)(ingest_client, report())
    closed = await ended.receive_output(timeout=5)
    pushed = await kept.receive_json_from(timeout=5)
    await kept.disconnect()

    assert closed == {"type": "websocket.close", "code": 4403}
    assert pushed["type"] == "runtime_error.created"
