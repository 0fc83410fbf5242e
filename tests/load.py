"""A load generator that runs as its own process and posts real reports.

Run as `python -m tests.load '<json options>'`; it prints one JSON line with
the status codes it got, how many reports the server accepted, and when (on
the wall clock, which the servers' push slots use too) the first accepted
request was sent and the last one answered. Tests start it with `start` and
read it with `result`, and watch live servers' sockets with `SocketReader`.
"""

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

INGEST_PATH = "/api/v1/ingest/runtime-errors/"
PROJECT_DIR = Path(__file__).resolve().parent.parent


def flapping_report(source, attempt):
    """Return a report of one flapping dependency as a worker would send it."""
    return {
        "level": "error",
        "source": source,
        "message": (
            f"upstream 10.0.{attempt % 250}.{attempt % 7} timed out after "
            f"{random.randint(100, 9999)} ms on attempt {attempt}"
        ),
        "stack": (
            "Traceback (most recent call last):\n"
            f'  File "workers/fetch.py", line {40 + attempt % 3}, in fetch\n'
            "TimeoutError: upstream timed out"
        ),
        "correlation_id": str(uuid.uuid4()),
    }


def run(options):
    """Post reports as the options say; return what the server answered."""
    urls = options["urls"]
    headers = {"Authorization": f"Api-Key {options['key']}"}
    sources = options["sources"]
    batch = options.get("batch", 1)
    deadline = time.monotonic() + options.get("seconds", 3600)
    limit = options.get("reports", 10**9)
    new_every = options.get("new_every", 0)
    statuses, accepted, created, sent, requests = {}, 0, [], 0, 0
    first_sent = last_answered = None

    with httpx.Client(headers=headers, timeout=30) as client:
        while sent < limit and time.monotonic() < deadline:
            size = min(batch, limit - sent)
            body = [
                flapping_report(random.choice(sources), sent + i) for i in range(size)
            ]
            if new_every and requests % new_every == new_every - 1:
                body.append(
                    {**body[0], "source": "new", "fingerprint": [str(uuid.uuid4())]}
                )
            sent_at = time.time()
            response = client.post(urls[requests % len(urls)] + INGEST_PATH, json=body)
            requests += 1
            sent += size
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 201:
                first_sent = first_sent or sent_at
                last_answered = time.time()
                accepted += size
                results = response.json()["results"]
                created += [r["id"] for r in results[size:] if r["created"]]

    return {
        "statuses": statuses,
        "accepted": accepted,
        "created": created,
        "requests": requests,
        "first_sent": first_sent,
        "last_answered": last_answered,
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))


def start(options):
    """Start a load process with these options."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.load", json.dumps(options)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )


def result(process, timeout=120):
    """Wait for a load process and return what it printed."""
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return json.loads(output)


class SocketReader:
    """A staff alert socket on a live server, read in a background thread."""

    def __init__(self, server, session_id):
        self.messages = []
        self._url = f"{server.ws_url}/ws/staff/runtime-errors/"
        self._headers = {"Cookie": f"sessionid={session_id}", "Origin": server.url}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.wait_for(lambda message: message["type"] == "snapshot")

    def _read(self):
        with connect(
            self._url, additional_headers=self._headers, open_timeout=10
        ) as socket:
            while not self._stop.is_set():
                try:
                    raw = socket.recv(timeout=0.2)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                self.messages.append((time.monotonic(), json.loads(raw)))

    def is_open(self):
        """Tell whether the server has not closed the socket."""
        return self._thread.is_alive()

    def of_type(self, message_type):
        return [m for _, m in self.messages if m["type"] == message_type]

    def wait_for(self, predicate, timeout=10):
        """Return the first message that satisfies predicate, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, message in list(self.messages):
                if predicate(message):
                    return message
            time.sleep(0.05)
        raise AssertionError(f"No matching message in {timeout}s: {self.messages}")

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
