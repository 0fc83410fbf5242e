"""What services and staff meet at the edges: slashes, odd frames, origins."""

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from django.contrib import admin

from runtime_errors.models import RuntimeError

from .conftest import STAFF_URL, post_json, report, session_cookie, socket_for

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


def test_unknown_api_path_is_a_json_404(staff_client):
    response = staff_client.get(f"{STAFF_URL}99999999999999999999999/")
    known = staff_client.get(STAFF_URL)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert known.status_code == 200


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
    [b"http://localhost:9", b"http://evil.example", b"null", b"file://"],
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
