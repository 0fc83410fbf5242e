"""Old viewed errors are pruned; active ones and recent ones stay."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from runtime_errors.models import RuntimeError

pytestmark = pytest.mark.django_db


def error_seen(days_ago, *, viewed, name):
    seen = timezone.now() - dt.timedelta(days=days_ago)
    return RuntimeError.objects.create(
        level="error",
        severity=40,
        source="billing-worker",
        message=name,
        fingerprint=name.ljust(64, "0"),
        occurred_at=seen,
        first_seen_at=seen,
        last_seen_at=seen,
        viewed_at=seen if viewed else None,
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

    assert remaining() == {"a", "b", "c", "d"}


def test_an_age_past_any_journal_is_refused_with_a_clear_error(db):
    with pytest.raises(CommandError, match="0 to 36500 days"):
        call_command("prune_runtime_errors", "--older-than", "3650000")
    call_command("prune_runtime_errors", "--older-than", "36500", "--dry-run")
