"""Reads from the journal: the active feed and the history."""

from django.db.models import Func, Subquery

from .models import HourlyCount, RuntimeError

FEED_SIZE = 5
NEWEST_FIRST = ("-last_seen_at", "-id")


def runtime_error_list(*, status="active"):
    """Return errors by status (active, viewed or all), newest first."""
    queryset = RuntimeError.objects.select_related("viewed_by").order_by(*NEWEST_FIRST)
    if status == "active":
        return queryset.filter(viewed_at__isnull=True)
    if status == "viewed":
        return queryset.filter(viewed_at__isnull=False)
    return queryset


def runtime_error_feed(*, size=FEED_SIZE):
    """Return (active_count, the newest active errors)."""
    newest = list(feed_queryset(size=size))
    return (newest[0].active_count if newest else 0), newest


def feed_queryset(*, size=FEED_SIZE):
    """Return the newest active errors, each annotated with the active count.

    Every push and every socket's snapshot runs this, so it is one query:
    the count is a subquery rather than a second round trip, and active
    errors have no viewer to join.
    """
    active = RuntimeError.objects.filter(viewed_at__isnull=True)
    # A plain COUNT rather than the Count aggregate, which would group the
    # subquery by its primary key and so return a row per error.
    active_count = active.order_by().values(n=Func("id", function="COUNT"))
    newest = active.annotate(active_count=Subquery(active_count))
    return newest.order_by(*NEWEST_FIRST)[:size]


def hourly_counts(*, since):
    """Return (hour, level, occurrences) rows from since on, oldest first."""
    return (
        HourlyCount.objects.filter(hour__gte=since)
        .order_by("hour", "level")
        .values_list("hour", "level", "occurrences")
    )


def prunable_errors(*, last_seen_before):
    """Return viewed errors last seen before a time; active ones never."""
    return RuntimeError.objects.filter(
        viewed_at__isnull=False, last_seen_at__lt=last_seen_before
    )
