"""`make run`'s setup: SQLite and the in-memory channel layer, end to end."""

import asyncio
import json
import os
import subprocess
import sys

import pytest
import websockets

from .live import PROJECT_DIR, LiveServer

pytestmark = pytest.mark.live

MAKE_STAFF_SESSION = """
from django.contrib.auth import get_user_model
from django.test import Client
user = get_user_model().objects.create_superuser("admin", password="x")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_sqlite_server_serves_pages_and_pushes_the_example_jobs_error(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "--noinput")
    key = manage(env, "create_ingest_key", "nightly-revenue")
    cookie = manage(env, "shell", "-v", "0", "-c", MAKE_STAFF_SESSION)
    server = LiveServer(env={"DATABASE_URL": env["DATABASE_URL"], "DJANGO_DEBUG": "1"})
    server.start(tmp_path)
    try:
        frames, job = asyncio.run(watch_job(server, cookie, key))
        pages = [run_get(server, path, cookie) for path in ("/staff/", "/admin/")]
    finally:
        server.stop()

    assert job.returncode == 1
    assert frames[0]["type"] == "snapshot"
    assert frames[1]["type"] == "runtime_error.created"
    assert frames[1]["stack"][0]["run_id"] == "nightly-sqlite"
    assert pages == [200, 200]


async def watch_job(server, cookie, key):
    async with websockets.connect(
        f"{server.ws_url}/ws/staff/runtime-errors/",
        additional_headers={"Cookie": f"sessionid={cookie}", "Origin": server.url},
    ) as socket:
        snapshot = json.loads(await asyncio.wait_for(socket.recv(), 5))
        job = await asyncio.to_thread(run_job, server, key)
        created = json.loads(await asyncio.wait_for(socket.recv(), 5))
    return [snapshot, created], job


def run_job(server, key):
    return subprocess.run(
        [sys.executable, "examples/nightly_revenue.py"],
        cwd=PROJECT_DIR,
        env={
            **os.environ,
            "JOURNAL_URL": server.url,
            "JOURNAL_KEY": key,
            "RUN_ID": "nightly-sqlite",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_get(server, path, cookie):
    import httpx

    return httpx.get(
        server.url + path, cookies={"sessionid": cookie}, timeout=10
    ).status_code
