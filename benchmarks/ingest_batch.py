"""Time the ingest of a 1,000-report batch, with and without redaction.

Run from the project directory:

    python benchmarks/ingest_batch.py [--against GIT-REVISION]

It creates a throwaway test database (``DATABASE_URL`` picks the engine;
SQLite in memory when unset), posts the same batch through the ingest API
several times, and prints the median times and their ratios, all measured
in this one run. With ``--against``, the redaction module of that revision
is measured too, for a before-and-after comparison.
"""

import argparse
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from unittest import mock

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
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


def with_redaction_of(revision):
    """Patch in the redaction module as it was at a git revision."""
    source = subprocess.run(
        ["git", "show", f"{revision}:runtime_errors/redaction.py"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType(f"redaction_at_{revision}")
    exec(compile(source, module.__name__, "exec"), module.__dict__)  # noqa: S102
    return mock.patch.multiple(
        "runtime_errors.reports",
        redact_text=module.redact_text,
        redact_data=module.redact_data,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision to compare with")
    arguments = parser.parse_args()
    setup_test_environment()

    # One access line per timed request would bury the figures.
    logging.getLogger("runtime_errors.access").setLevel(logging.WARNING)
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor != "sqlite":
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_benchmark"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(arguments.against)
    finally:
        connection.creation.destroy_test_db(
            connection.settings_dict["NAME"], verbosity=0
        )


def run(against):
    from runtime_errors.models import IngestKey

    _, key = IngestKey.objects.create_key(name="benchmark")
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    client = Client()
    body = batch_body()
    data = json.loads(body)
    print(f"{BATCH} reports, {len(body) / 1024:.0f} KiB, median of {ROUNDS} rounds")
    print(f"database: {connection.vendor}")
    median_post_seconds(client, body, headers)

    variants = [("no redaction", without_redaction()), ("redaction", None)]
    if against:
        variants.append((f"redaction at {against}", with_redaction_of(against)))
    figures = {}
    for name, patch in variants:
        with patch or contextlib.nullcontext():
            figures[name] = (
                median_parse_seconds(data),
                median_post_seconds(client, body, headers),
            )

    bare_parse, bare_post = figures["no redaction"]
    for name, (parse, post) in figures.items():
        print(
            f"{name:>24}: validate {parse * 1000:7.1f} ms "
            f"(x{parse / bare_parse:.2f}), HTTP ingest {post * 1000:7.1f} ms "
            f"(x{post / bare_post:.2f}), redaction "
            f"{(parse - bare_parse) * 1e6 / BATCH:6.1f} us a report"
        )


if __name__ == "__main__":
    main()
