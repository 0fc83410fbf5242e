"""Real daphne server processes for tests that cross process boundaries.

A live server shares the test database (tests that use it must be
transactional, so that what they write is committed and visible to it) and,
when given one, a Redis URL for the channel layer and the cache.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parent.parent
INGEST_URL = "/api/v1/ingest/runtime-errors/"
STARTUP_SECONDS = 20


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shared_database_url():
    """Return the URL of the database the tests are using right now."""
    settings = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.fail("Live server tests need PostgreSQL: set DATABASE_URL.")
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    user = settings.get("USER") or "postgres"
    password = settings.get("PASSWORD") or ""
    credentials = f"{user}:{password}" if password else user
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


class LiveServer:
    """One daphne process serving config.asgi on a free loopback port."""

    def __init__(self, *, redis_url=None, env=None, port=None):
        self.port = port or free_port()
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.process = None
        self.log_path = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}"

    def environment(self):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "tests-only-secret-key-never-deployed",
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": shared_database_url(),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDIS_URL", None)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    def start(self, log_dir):
        """Start daphne and wait until it answers HTTP."""
        self.log_path = Path(log_dir) / f"daphne-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--access-log",
                os.devnull,
                "config.asgi:application",
            ],
            cwd=PROJECT_DIR,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_serving()
        return self

    def _wait_until_serving(self):
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"daphne exited early:\n{self.log()}")
            try:
                httpx.get(f"{self.url}/api/v1/staff/runtime-errors/feed/", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"daphne did not start in {STARTUP_SECONDS}s:\n{self.log()}")

    def stop(self):
        """Stop daphne, gracefully first."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self):
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-5000:]


@pytest.fixture
def live_servers(transactional_db, tmp_path):
    """Return a function that starts live servers; all stop after the test."""
    started = []

    def start(**kwargs):
        server = LiveServer(**kwargs).start(tmp_path)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def staff_session(server, username="oncall"):
    """Return an httpx client logged in as a staff user on a live server."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True}
    )
    client = Client()
    client.force_login(user)
    cookies = {
        "sessionid": client.cookies["sessionid"].value,
        "csrftoken": "a" * 32,
    }
    return httpx.Client(
        base_url=server.url,
        cookies=cookies,
        headers={"X-CSRFToken": "a" * 32, "Referer": server.url + "/"},
        timeout=10,
    )


def post_fifty_identical_reports(server, ingest_key, *, correlation="corr"):
    """Post one report fifty times from ten threads at once, each with its
    own correlation id; return the answers."""
    answers, lock = [], threading.Lock()

    def post_five(thread):
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for number in range(5):
                response = client.post(
                    INGEST_URL,
                    json={
                        "level": "critical",
                        "source": "payments",
                        "message": "card processor unavailable",
                        "stack": 'ProcessorError\n  File "pay.py", line 88, in charge',
                        "occurred_at": "2024-05-01T10:00:00Z",
                        "correlation_id": f"{correlation}-{thread * 5 + number}",
                    },
                    headers={"Authorization": f"Api-Key {ingest_key}"},
                )
                with lock:
                    answers.append(response)

    threads = [threading.Thread(target=post_five, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers
