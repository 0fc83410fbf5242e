"""Old viewed errors are pruned; active ones and recent ones stay."""

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from runtime_errors.models import RuntimeError

pytestmark = pytest.mark.django_db


def error_seen(days_ago, *, viewed, name):
    seen = timezone.now() - dt.timedelta(days=days_ago)
    return error_with_times(
        name,
        occurred=seen,
        first_seen=seen,
        last_seen=seen,
        viewed=seen if viewed else None,
    )


@pytest.fixture
def journal():
    return {
        "old_viewed_a": error_seen(120, viewed=True, name="a"),
        "old_viewed_b": error_seen(95, viewed=True, name="b"),
        "old_active": error_seen(200, viewed=False, name="c"),
        "recent_viewed": error_seen(10, viewed=True, name="d"),
    }


def prune(*args):
    out = io.StringIO()
    call_command("prune_runtime_errors", *args, stdout=out)
    return out.getvalue()


def remaining():
    return set(RuntimeError.objects.values_list("message", flat=True))


def test_dry_run_counts_what_would_go_and_changes_nothing(journal):
    output = prune("--older-than", "90", "--dry-run")

    assert "Would delete 2 viewed errors" in output
    assert remaining() == {"a", "b", "c", "d"}


def test_prune_removes_only_viewed_errors_past_the_age_in_batches(journal):
    output = prune("--older-than", "90", "--batch-size", "1")

    assert remaining() == {"c", "d"}
    assert "Deleted 1 of 2 viewed errors" in output
    assert "Deleted 2 of 2 viewed errors" in output


def test_prune_takes_its_default_age_from_settings(journal, settings):
    settings.RUNTIME_ERRORS_PRUNE_AFTER_DAYS = 100

    prune()

    assert remaining() == {"b", "c", "d"}


def test_prune_refuses_a_negative_age_and_deletes_nothing(journal):
    with pytest.raises(CommandError, match="--older-than"):
        prune("--older-than", "-1")
    untouched = remaining()
    prune("--older-than", "0")

    assert untouched == {"a", "b", "c", "d"}
    assert remaining() == {"c"}


def test_an_age_past_any_journal_is_refused_with_a_clear_error(db):
    with pytest.raises(CommandError, match="0 to 36500 days"):
        call_command("prune_runtime_errors", "--older-than", "3650000")
    call_command("prune_runtime_errors", "--older-than", "36500", "--dry-run")


def error_with_times(name, *, occurred, first_seen, last_seen, viewed):
    return RuntimeError.objects.create(
        level="error",
        severity=40,
        source="billing-worker",
        message=name,
        fingerprint=name.ljust(64, "0"),
        occurred_at=occurred,
        first_seen_at=first_seen,
        last_seen_at=last_seen,
        viewed_at=viewed,
    )


def test_age_counts_from_last_seen_not_from_viewing_first_seen_or_the_client(db):
    now = timezone.now()
    cutoff = now - dt.timedelta(days=90)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    rows = {
        # name: (occurred_at, first_seen_at, last_seen_at, viewed_at)
        "seen-long-ago-viewed-today": (cutoff - day, cutoff - day, cutoff - day, now),
        "first-seen-long-ago": (now, now - 400 * day, now - 10 * day, now - day),
        "client-clock-long-ago": (now - 900 * day, now - 5 * day, now - 5 * day, now),
        "viewed-long-ago-seen-later": (
            now,
            now - 200 * day,
            now - day,
            now - 150 * day,
        ),
        "exactly-at-the-cutoff": (cutoff, cutoff, cutoff, cutoff + hour),
        "a-microsecond-past": (
            cutoff,
            cutoff,
            cutoff - dt.timedelta(microseconds=1),
            now,
        ),
    }
    for name, (occurred, first_seen, last_seen, viewed) in rows.items():
        error_with_times(
            name,
            occurred=occurred,
            first_seen=first_seen,
            last_seen=last_seen,
            viewed=viewed,
        )

    # The command reads the clock once, for its cutoff.
    with mock.patch("django.utils.timezone.now", return_value=now):
        counted = prune("--older-than", "90", "--dry-run")
        prune("--older-than", "90")

    assert "Would delete 2 viewed errors" in counted
    assert remaining() == {
        "first-seen-long-ago",
        "client-clock-long-ago",
        "viewed-long-ago-seen-later",
        "exactly-at-the-cutoff",
    }
