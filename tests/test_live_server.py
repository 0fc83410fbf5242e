"""The product served by a real daphne process, as services and staff meet it."""

import json

import httpx
import pytest

from .conftest import INGEST_URL, report
from .live import staff_session

pytestmark = pytest.mark.live

MIB = 1024 * 1024


def test_live_server_ingests_and_serves_the_feed(live_servers, ingest_key):
    server = live_servers()
    headers = {"Authorization": f"Api-Key {ingest_key}"}

    response = httpx.post(
        f"{server.url}/api/v1/ingest/runtime-errors/", json=report(), headers=headers
    )
    with staff_session(server) as staff:
        feed = staff.get("/api/v1/staff/runtime-errors/feed/").json()
        viewed = staff.post(
            f"/api/v1/staff/runtime-errors/{response.json()['id']}/viewed/"
        )

    assert response.status_code == 201
    assert feed["results"][0]["id"] == response.json()["id"]
    assert viewed.status_code == 200


def test_live_server_reads_a_chunked_body_as_it_reads_a_measured_one(
    live_servers, ingest_key
):
    server = live_servers()
    headers = {
        "Authorization": f"Api-Key {ingest_key}",
        "Content-Type": "application/json",
    }
    body = json.dumps(report()).encode()

    def chunks(data, size=16):
        for start in range(0, len(data), size):
            yield data[start : start + size]

    with httpx.Client(base_url=server.url, headers=headers) as client:
        chunked = client.post(INGEST_URL, content=chunks(body))
        measured = client.post(INGEST_URL, content=body)
        oversized = client.post(INGEST_URL, content=chunks(b" " * (MIB + 1), MIB // 8))

    assert chunked.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 201, chunked.text
    assert chunked.json()["created"] is True
    assert measured.status_code == 201
    assert measured.json()["occurrences"] == 2
    assert oversized.status_code == 413


def test_live_server_answers_a_multipart_body_with_a_415_naming_its_type(
    live_servers, ingest_key
):
    server = live_servers()
    body = json.dumps(report())

    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Api-Key {ingest_key}"}
    ) as client:
        multipart = client.post(
            INGEST_URL,
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=xx"},
        )
        as_json = client.post(
            INGEST_URL, content=body, headers={"Content-Type": "application/json"}
        )

    assert multipart.status_code == 415
    assert "multipart/form-data" in multipart.json()["detail"]
    assert as_json.status_code == 201
    assert "POST /api/v1/ingest/runtime-errors/ 415" in server.log()
