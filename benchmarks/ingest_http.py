"""Measure the ingest and push paths through a real daphne server.

Run from the project directory, with PostgreSQL reachable:

    .venv/bin/python benchmarks/ingest_http.py

It creates a throwaway database (from ``DATABASE_URL``, by default the local
PostgreSQL), serves the product with daphne on a free port and measures, in
this one run:

- the framework floor: a request refused for its missing key (middleware,
  DRF, no database);
- one report per request, sequentially, and a batch of 100 per request;
- four clients posting single reports at once;
- how long a new error takes from the POST to a staff socket's frame.

Figures are medians and ratios to the floor measured in the same run, since
absolute times on a shared machine move from one run to the next.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ["RUNTIME_ERRORS_INGEST_RATE"] = "1000000/min"
os.environ["RUNTIME_ERRORS_CAPTURE"] = "0"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.db import connection  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

INGEST = "/api/v1/ingest/runtime-errors/"
SEQUENTIAL = 300
BATCHES = 30
BATCH_SIZE = 100
CLIENTS = 4
PER_CLIENT = 150
PUSHES = 40


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def report(number, *, distinct=False):
    """Return a realistic report; distinct ones never group together."""
    body = {
        "level": "error",
        "source": "orders-worker",
        "message": f"order {number} failed: upstream timed out",
        "stack": (
            "Traceback (most recent call last):\n"
            '  File "orders/fetch.py", line 40, in fetch\n'
            '  File "orders/http.py", line 12, in get\n'
            "TimeoutError: upstream timed out"
        ),
        "payload": {"order": number, "headers": [["Authorization", "Bearer x" * 3]]},
        "run_id": f"run-{number % 10}",
    }
    if distinct:
        body["fingerprint"] = [f"benchmark-{number}"]
    return body


def timed(call, count):
    times = []
    for number in range(count):
        started = time.perf_counter()
        call(number)
        times.append(time.perf_counter() - started)
    return times


def start_server(database_url):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--access-log",
            os.devnull,
            "config.asgi:application",
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=open(os.environ.get("BENCHMARK_SERVER_LOG", os.devnull), "ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/healthz", timeout=1)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("daphne did not start")


def staff_cookie():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user(username="bench", is_staff=True)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def measure(url, key, cookie):
    headers = {"Authorization": f"Api-Key {key}"}
    results = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for number in range(20):
            client.post(INGEST, json=report(number), headers=headers)

        results["floor"] = timed(lambda n: client.post(INGEST, json=report(n)), 200)
        results["single"] = timed(
            lambda n: client.post(INGEST, json=report(n), headers=headers), SEQUENTIAL
        )
        results["single_new"] = timed(
            lambda n: client.post(
                INGEST, json=report(10**6 + n, distinct=True), headers=headers
            ),
            SEQUENTIAL,
        )
        results["batch"] = timed(
            lambda n: client.post(
                INGEST,
                json=[report(n * BATCH_SIZE + i) for i in range(BATCH_SIZE)],
                headers=headers,
            ),
            BATCHES,
        )

    results["concurrent_rate"] = concurrent_rate(url, headers)
    results["push"] = push_latencies(url, headers, cookie)
    return results


def concurrent_rate(url, headers):
    def post_many():
        with httpx.Client(base_url=url, timeout=30) as client:
            for number in range(PER_CLIENT):
                client.post(INGEST, json=report(number), headers=headers)

    threads = [threading.Thread(target=post_many) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return CLIENTS * PER_CLIENT / (time.perf_counter() - started)


def push_latencies(url, headers, cookie):
    latencies = []
    ws_url = url.replace("http://", "ws://") + "/ws/staff/runtime-errors/"
    with (
        connect(
            ws_url, additional_headers={"Cookie": f"sessionid={cookie}", "Origin": url}
        ) as socket_,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        socket_.recv(timeout=5)
        for number in range(PUSHES):
            started = time.perf_counter()
            client.post(
                INGEST, json=report(2 * 10**6 + number, distinct=True), headers=headers
            )
            while (
                json.loads(socket_.recv(timeout=5))["type"] != "runtime_error.created"
            ):
                pass
            latencies.append(time.perf_counter() - started)
    return latencies


def ms(seconds):
    return f"{seconds * 1000:7.2f} ms"


def print_report(results):
    floor = statistics.median(results["floor"])
    rows = [
        ("refused without a key (floor)", results["floor"]),
        ("one report, repeat of an active error", results["single"]),
        ("one report, a new error", results["single_new"]),
        (f"batch of {BATCH_SIZE} reports", results["batch"]),
        ("POST of a new error to its socket frame", results["push"]),
    ]
    print(f"{'request':42} {'median':>10} {'p95':>10} {'x floor':>8}")
    for name, times in rows:
        median = statistics.median(times)
        p95 = sorted(times)[int(len(times) * 0.95) - 1]
        print(f"{name:42} {ms(median)} {ms(p95)} {median / floor:8.1f}")
    per_report = statistics.median(results["batch"]) / BATCH_SIZE
    single = statistics.median(results["single"])
    print(
        f"per report in a batch: {ms(per_report)} "
        f"({single / per_report:.1f}x cheaper than one per request)"
    )
    print(
        f"{CLIENTS} clients at once: {results['concurrent_rate']:.0f} reports/s "
        f"(sequential: {1 / single:.0f} reports/s)"
    )


def main():
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = "benchmark_ingest_http"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/{test_name}"
    )
    from runtime_errors.models import IngestKey

    _, key = IngestKey.objects.create_key(name="benchmark")
    cookie = staff_cookie()
    process, url = start_server(database_url)
    try:
        print_report(measure(url, key, cookie))
    finally:
        process.terminate()
        process.wait(timeout=10)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
