"""The product served by a real daphne process, as services and staff meet it."""

import httpx

from .conftest import report
from .live import staff_session


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
