"""Time the ingest of a 1,000-report batch, with and without redaction.

Run from the project directory:

    python benchmarks/ingest_batch.py

It creates a throwaway test database (``DATABASE_URL`` picks the engine;
SQLite in memory when unset), posts the same batch through the ingest API
several times, and prints the median times and their ratios, all measured
in this one run.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

BATCH = 1000
ROUNDS = 7
INGEST_URL = "/api/v1/ingest/runtime-errors/"


def batch_body():
    """Return a batch of realistic reports, a few with secrets in them."""
    reports = []
    for number in range(BATCH):
        stack = "".join(
            f'  File "/srv/app/orders/step_{frame}.py", line {frame * 7}, '
            f"in handle_{frame}\n    result = process(order_id={number})\n"
            for frame in range(4)
        )
        reports.append(
            {
                "level": "error",
                "source": f"orders-{number % 7}",
                "message": (
                    f"order {number} failed: could not connect to "
                    f"postgres://app:pw{number}@db.internal:5432/orders "
                    f"after {number % 5} retries"
                ),
                "stack": "Traceback (most recent call last):\n"
                + stack
                + "OperationalError: connection refused",
                "payload": {
                    "request": {
                        "method": "POST",
                        "path": f"/orders/{number}?token=t{number}abcdef",
                        "headers": [
                            ["Authorization", f"Bearer abc{number}def0123456"],
                            ["Accept", "application/json"],
                        ],
                    },
                    "user": {"id": number, "email": f"user{number}@example.com"},
                    "retries": number % 5,
                },
                "run_id": f"run-{number % 50}",
                "occurred_at": "2024-05-01T10:00:00Z",
            }
        )
    return json.dumps(reports)


def median_post_seconds(client, body, headers):
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.post(
            INGEST_URL, data=body, content_type="application/json", **headers
        )
        times.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content[:300]
    return statistics.median(times)


def median_parse_seconds(data):
    from runtime_errors.reports import parse_reports

    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        parse_reports(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def without_redaction():
    """Patch redaction out of the ingest path, for the baseline."""
    return mock.patch.multiple(
        "runtime_errors.reports",
        redact_text=lambda text: text,
        redact_data=lambda value: value,
    )


def main():
    setup_test_environment()
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor != "sqlite":
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_benchmark"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run()
    finally:
        connection.creation.destroy_test_db(
            connection.settings_dict["NAME"], verbosity=0
        )


def run():
    from runtime_errors.models import IngestKey

    _, key = IngestKey.objects.create_key(name="benchmark")
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    client = Client()
    body = batch_body()
    data = json.loads(body)
    print(f"{BATCH} reports, {len(body) / 1024:.0f} KiB, median of {ROUNDS} rounds")
    print(f"database: {connection.vendor}")

    median_post_seconds(client, body, headers)
    with_post = median_post_seconds(client, body, headers)
    with_parse = median_parse_seconds(data)
    with without_redaction():
        bare_post = median_post_seconds(client, body, headers)
        bare_parse = median_parse_seconds(data)

    print(f"validate only, no redaction:   {bare_parse * 1000:8.1f} ms")
    print(f"validate only, with redaction: {with_parse * 1000:8.1f} ms")
    print(f"HTTP ingest, no redaction:     {bare_post * 1000:8.1f} ms")
    print(f"HTTP ingest, with redaction:   {with_post * 1000:8.1f} ms")
    per_report = (with_parse - bare_parse) * 1e6 / BATCH
    print(f"redaction per report:          {per_report:8.1f} us")
    print(f"ratio validate with/without:   {with_parse / bare_parse:8.2f}")
    print(f"ratio ingest with/without:     {with_post / bare_post:8.2f}")


if __name__ == "__main__":
    main()
