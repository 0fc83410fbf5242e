"""The bundled example job fails for real and its error reaches staff live."""

import asyncio
import json
import os
import subprocess
import sys

import pytest
import websockets

from runtime_errors.models import RuntimeError

from .conftest import session_cookie
from .live import PROJECT_DIR

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]


def run_example(server, key, run_id=None, *, cwd=PROJECT_DIR):
    """Run the example job against a server; without run_id it picks its own."""
    env = {**os.environ, "JOURNAL_URL": server.url, "JOURNAL_KEY": key}
    if run_id is not None:
        env["RUN_ID"] = run_id
    return subprocess.run(
        [sys.executable, "examples/nightly_revenue.py"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_example_job_reports_its_traceback_and_run(live_servers, ingest_key):
    server = live_servers()

    result = run_example(server, ingest_key, "nightly-42")

    assert result.returncode == 1
    assert "reported as error" in result.stderr
    error = RuntimeError.objects.get(run_id="nightly-42")
    assert error.source == "nightly-revenue"
    assert error.message == (
        "ValueError: order A-1004: unit price 'n/a' is not a number"
    )
    assert "InvalidOperation" in error.stack
    assert "revenue_by_customer" in error.stack
    assert error.job == "nightly-revenue"


def test_example_job_error_reaches_a_staff_socket_on_the_live_server(
    live_servers, ingest_key, staff_user
):
    server = live_servers()
    cookie = session_cookie(staff_user)

    async def watch_while_job_runs():
        async with websockets.connect(
            f"{server.ws_url}/ws/staff/runtime-errors/",
            additional_headers={
                "Cookie": f"sessionid={cookie}",
                "Origin": server.url,
            },
        ) as socket:
            snapshot = json.loads(await asyncio.wait_for(socket.recv(), 5))
            job = await asyncio.to_thread(run_example, server, ingest_key, "nightly-43")
            pushed = json.loads(await asyncio.wait_for(socket.recv(), 5))
            return snapshot, job, pushed

    snapshot, job, pushed = asyncio.run(watch_while_job_runs())

    assert snapshot["stack"] == []
    assert job.returncode == 1
    assert pushed["type"] == "runtime_error.created"
    assert pushed["stack"][0]["run_id"] == "nightly-43"
    assert pushed["stack"][0]["links"]["run_id"] == (
        "/staff/?run_id=nightly-43&status=all"
    )
