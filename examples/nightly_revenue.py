"""A nightly job that totals revenue per customer from an orders export.

It does real work and fails for real: one row of the bundled export has a
price that is not a number. The failure is reported to the error journal
with its traceback and the run's context, then the job exits non-zero.

    JOURNAL_KEY=<ingest key> python examples/nightly_revenue.py

JOURNAL_URL defaults to http://127.0.0.1:8000 (the server `make run` starts).
"""

import csv
import os
import sys
import traceback
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import httpx

ORDERS = Path(__file__).with_name("orders.csv")
INGEST_PATH = "/api/v1/ingest/runtime-errors/"


def revenue_by_customer(path):
    """Return total revenue per customer from a CSV export of orders."""
    totals = defaultdict(Decimal)
    with path.open(newline="") as export:
        for row in csv.DictReader(export):
            totals[row["customer"]] += int(row["quantity"]) * parse_price(row)
    return dict(totals)


def parse_price(row):
    """Return an order row's unit price as a Decimal."""
    try:
        return Decimal(row["unit_price"])
    except InvalidOperation as error:
        raise ValueError(
            f"order {row['order_id']}: unit price {row['unit_price']!r} is not a number"
        ) from error


def report_failure(error, *, run_id):
    """Send the failure to the journal; return the journal's answer."""
    body = {
        "level": "error",
        "source": "nightly-revenue",
        "stage": "aggregate",
        "job": "nightly-revenue",
        "run_id": run_id,
        "message": f"{type(error).__name__}: {error}",
        "stack": "".join(traceback.format_exception(error)),
        "occurred_at": datetime.now(UTC).isoformat(),
        "payload": {"export": ORDERS.name, "python": sys.version.split()[0]},
    }
    base_url = os.environ.get("JOURNAL_URL", "http://127.0.0.1:8000")
    transport = httpx.HTTPTransport(retries=3)
    with httpx.Client(base_url=base_url, transport=transport, timeout=10) as client:
        response = client.post(
            INGEST_PATH,
            json=body,
            headers={"Authorization": f"Api-Key {os.environ['JOURNAL_KEY']}"},
        )
    response.raise_for_status()
    return response.json()


def main():
    if not os.environ.get("JOURNAL_KEY"):
        print(
            "Set JOURNAL_KEY to an ingest key "
            "(python manage.py create_ingest_key nightly-revenue).",
            file=sys.stderr,
        )
        return 2
    run_id = os.environ.get("RUN_ID") or f"nightly-{uuid.uuid4().hex[:12]}"
    try:
        totals = revenue_by_customer(ORDERS)
    except Exception as error:
        answer = report_failure(error, run_id=run_id)
        print(
            f"run {run_id} failed: {error}; reported as error {answer['id']} "
            f"(occurrences {answer['occurrences']})",
            file=sys.stderr,
        )
        return 1
    for customer, total in sorted(totals.items()):
        print(f"{customer}: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
