"""Remove viewed errors that have not been seen for a while."""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from runtime_errors import selectors, services

DEFAULT_BATCH_SIZE = 1000

# Journals began in 2000 (the ingest API refuses earlier times).
MAX_DAYS = 36500


class Command(BaseCommand):
    help = (
        "Delete viewed runtime errors last seen more than a number of days "
        "ago, in batches. Active errors are never deleted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            help="Age in days since last seen (default: "
            "RUNTIME_ERRORS_PRUNE_AFTER_DAYS).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            metavar="ROWS",
            help="Rows deleted per transaction, to keep locks short (default: "
            f"{DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, delete nothing."
        )

    def handle(self, *args, older_than, batch_size, dry_run, **options):
        days = older_than
        if days is None:
            days = settings.RUNTIME_ERRORS_PRUNE_AFTER_DAYS
        if not 0 <= days <= MAX_DAYS:
            raise CommandError(f"--older-than must be 0 to {MAX_DAYS} days.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - dt.timedelta(days=days)

        total = selectors.prunable_errors(last_seen_before=cutoff).count()
        if dry_run:
            self.stdout.write(
                f"Would delete {total} viewed errors last seen before "
                f"{cutoff:%Y-%m-%d %H:%M} UTC (dry run; nothing deleted)."
            )
            return

        deleted = 0
        for count in services.prune_viewed(
            last_seen_before=cutoff, batch_size=batch_size
        ):
            deleted += count
            self.stdout.write(f"Deleted {deleted} of {total} viewed errors…")
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {deleted} viewed errors last seen before "
                f"{cutoff:%Y-%m-%d %H:%M} UTC."
            )
        )
