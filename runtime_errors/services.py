"""Writes to the journal: ingest reports, mark errors viewed.

Both are single SQL statements so that concurrent writers need no
read-modify-write: grouping is an upsert against the partial unique index on
active fingerprints, and marking viewed is an update that returns the rows
it changed. Pushes go out after the transaction commits.
"""

import collections
import dataclasses
import datetime as dt
import logging

from django.db import connection, transaction
from django.utils import timezone

from . import push, selectors
from .models import CONTEXT_FIELDS, HourlyCount, RuntimeError

logger = logging.getLogger(__name__)

_COLUMNS = (
    "level",
    "severity",
    "source",
    "stage",
    "message",
    "stack",
    "payload",
    "fingerprint",
    "occurrences",
    "occurred_at",
    "first_seen_at",
    "last_seen_at",
    *CONTEXT_FIELDS,
)

# Columns a repeat overwrites with the newest report's values.
_NEWEST_WINS = (
    "source",
    "stage",
    "message",
    "stack",
    "payload",
    "occurred_at",
    "last_seen_at",
    *CONTEXT_FIELDS,
)

_TABLE = RuntimeError._meta.db_table
_HOURLY_TABLE = HourlyCount._meta.db_table


@dataclasses.dataclass(frozen=True, slots=True)
class Ingested:
    id: int
    fingerprint: str
    occurrences: int
    created: bool


@dataclasses.dataclass(slots=True)
class _Group:
    newest: object
    count: int
    severity: int
    level: str


def ingest_reports(*, reports, now=None):
    """Store reports, grouping repeats into active rows; return one result
    per report, in order."""
    now = now or timezone.now()
    groups = _fold(reports)

    with transaction.atomic():
        rows = _upsert(groups, now=now)
        _count_hourly(reports, now=now)
        created = [row_id for row_id, _, _, is_new in rows.values() if is_new]
        updated = [row_id for row_id, _, _, is_new in rows.values() if not is_new]
        transaction.on_commit(
            lambda: push.publish_ingested(created_ids=created, updated_ids=updated),
            robust=True,
        )

    return _results(reports, rows)


def _fold(reports):
    # A batch is folded first: one row per fingerprint, the last report's
    # values, the highest level, and the number of reports it stands for.
    groups = {}
    for report in reports:
        group = groups.get(report.fingerprint)
        if group is None:
            groups[report.fingerprint] = _Group(
                report, 1, report.severity, report.level
            )
            continue
        group.newest = report
        group.count += 1
        if report.severity > group.severity:
            group.severity, group.level = report.severity, report.level
    return groups


def _upsert(groups, *, now):
    # Sorting by fingerprint makes concurrent batches lock rows in the same
    # order, so that they cannot deadlock each other.
    ordered = sorted(groups.items())
    fields = [RuntimeError._meta.get_field(name) for name in _COLUMNS]
    params = []
    for fingerprint, group in ordered:
        values = _row_values(fingerprint, group, now=now)
        params.extend(
            field.get_db_prep_save(value, connection)
            for field, value in zip(fields, values, strict=True)
        )

    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(len(ordered)), params)
        returned = cursor.fetchall()

    counts = {fingerprint: group.count for fingerprint, group in ordered}
    return {
        fingerprint: (row_id, fingerprint, total, total == counts[fingerprint])
        for row_id, fingerprint, total in returned
    }


def _row_values(fingerprint, group, *, now):
    report = group.newest
    return (
        group.level,
        group.severity,
        report.source,
        report.stage,
        report.message,
        report.stack,
        report.payload,
        fingerprint,
        group.count,
        report.occurred_at,
        now,
        now,
        *(getattr(report, name) for name in CONTEXT_FIELDS),
    )


def _upsert_sql(row_count):
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in _COLUMNS)
    row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    table = quote(_TABLE)
    newest = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in _NEWEST_WINS)
    higher = f"excluded.severity > {table}.severity"
    return (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * row_count)} "
        f"ON CONFLICT (fingerprint) WHERE viewed_at IS NULL DO UPDATE SET "
        f"occurrences = {table}.occurrences + excluded.occurrences, {newest}, "
        f"level = CASE WHEN {higher} THEN excluded.level "
        f"ELSE {table}.level END, "
        f"severity = CASE WHEN {higher} THEN excluded.severity "
        f"ELSE {table}.severity END "
        f"RETURNING id, fingerprint, occurrences"
    )


def _count_hourly(reports, *, now):
    # Each report counts under its own level in the hour the server got it;
    # levels are sorted so that concurrent requests lock rows in one order.
    per_level = collections.Counter(report.level for report in reports)
    hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    hour_value = HourlyCount._meta.get_field("hour").get_db_prep_save(hour, connection)
    params = []
    for level, count in sorted(per_level.items()):
        params.extend([hour_value, level, count])

    quote = connection.ops.quote_name
    table = quote(_HOURLY_TABLE)
    rows = ", ".join(["(%s, %s, %s)"] * len(per_level))
    sql = (
        f"INSERT INTO {table} (hour, level, occurrences) VALUES {rows} "
        f"ON CONFLICT (hour, level) DO UPDATE SET "
        f"occurrences = {table}.occurrences + excluded.occurrences"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _results(reports, rows):
    results, seen = [], set()
    for report in reports:
        row_id, fingerprint, occurrences, is_new = rows[report.fingerprint]
        results.append(
            Ingested(
                id=row_id,
                fingerprint=fingerprint,
                occurrences=occurrences,
                created=is_new and fingerprint not in seen,
            )
        )
        seen.add(fingerprint)
    return results


@dataclasses.dataclass(frozen=True, slots=True)
class Viewed:
    viewed: list
    already_viewed: list
    not_found: list


def mark_viewed(*, ids, user, now=None):
    """Mark active errors viewed by user; the first viewer and time stay."""
    now = now or timezone.now()
    ids = list(dict.fromkeys(ids))
    if not ids:
        return Viewed([], [], [])

    viewed_at = RuntimeError._meta.get_field("viewed_at")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _mark_viewed_sql(len(ids)),
                [viewed_at.get_db_prep_save(now, connection), user.pk, *ids],
            )
            newly = {row[0] for row in cursor.fetchall()}
        existing = set(
            RuntimeError.objects.filter(id__in=ids).values_list("id", flat=True)
        )
        if newly:
            marked = sorted(newly)
            transaction.on_commit(lambda: push.publish_viewed(ids=marked), robust=True)

    return Viewed(
        viewed=[i for i in ids if i in newly],
        already_viewed=[i for i in ids if i in existing and i not in newly],
        not_found=[i for i in ids if i not in existing],
    )


def _mark_viewed_sql(id_count):
    quote = connection.ops.quote_name
    table = quote(_TABLE)
    chosen = f"id IN ({', '.join(['%s'] * id_count)})"
    if connection.vendor == "postgresql":
        # Ingest locks rows in fingerprint order; taking them in the same
        # order means a bulk dismissal racing a batch cannot deadlock it.
        chosen = (
            f"id IN (SELECT id FROM {table} WHERE {chosen} AND viewed_at IS NULL "
            f"ORDER BY fingerprint FOR UPDATE)"
        )
    return (
        f"UPDATE {table} SET viewed_at = %s, viewed_by_id = %s "
        f"WHERE {chosen} AND viewed_at IS NULL RETURNING id"
    )


def delete_errors(*, ids):
    """Delete errors; tell staff sockets when an active one goes."""
    with transaction.atomic():
        errors = RuntimeError.objects.filter(id__in=ids)
        active = sorted(
            errors.filter(viewed_at__isnull=True).values_list("id", flat=True)
        )
        errors.delete()
        if active:
            transaction.on_commit(lambda: push.publish_deleted(ids=active), robust=True)


def prune_viewed(*, last_seen_before, batch_size):
    """Delete viewed errors last seen before a time, batch by batch; yield
    how many each batch removed."""
    # Short batches, each its own transaction, keep locks brief on a
    # journal that ingest is writing to at the same time.
    prunable = selectors.prunable_errors(last_seen_before=last_seen_before)
    while True:
        ids = list(prunable.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return
        deleted, _ = prunable.filter(id__in=ids).delete()
        yield deleted
