"""The journal's hot queries are served by its indexes on PostgreSQL."""

import pytest
from django.db import connection

from runtime_errors import selectors

from .conftest import post_json, report

pytestmark = pytest.mark.django_db


def plan_of(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny test tables make a sequential scan cheapest; forbidding it
        # shows which index the planner would use on a real journal.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def journal(ingest_client):
    for number in range(30):
        post_json(ingest_client, report(message=f"failure kind {'x' * number}"))


def test_feed_query_is_an_index_scan_of_the_active_feed_index(journal):
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL: set DATABASE_URL.")
    plan = plan_of(selectors.feed_queryset())

    assert "Index Scan" in plan
    assert "runtime_errors_active_feed" in plan


def test_history_by_run_id_uses_its_index(journal):
    by_run = selectors.runtime_error_list(status="all").filter(run_id="run-7")

    plan = plan_of(by_run)

    assert "runtime_errors_run_id" in plan
