"""The runtime error journal and the keys services use to write to it."""

import re
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from rest_framework_api_key.models import AbstractAPIKey

from .text import visible_controls


class Level(models.TextChoices):
    DEBUG = "debug", "Debug"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    CRITICAL = "critical", "Critical"


# Logging's numbers, so that levels compare and sort by severity.
SEVERITY = {
    Level.DEBUG: 10,
    Level.INFO: 20,
    Level.WARNING: 30,
    Level.ERROR: 40,
    Level.CRITICAL: 50,
}
LEVEL_BY_SEVERITY = {number: level for level, number in SEVERITY.items()}

# The same breaks as the alert stack's script splits on, so that a list, a
# page and an alert show the same line.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
NO_MESSAGE_TEXT = "(no message text)"

CONTEXT_FIELDS = (
    "correlation_id",
    "run_id",
    "task_id",
    "project",
    "namespace",
    "job",
)


class RuntimeError(models.Model):
    """One error, or a group of repeats of it while it stays active."""

    id = models.BigAutoField(primary_key=True)
    level = models.CharField(max_length=8, choices=Level.choices)
    severity = models.PositiveSmallIntegerField(
        help_text="The level as logging's number, for ordering and grouping."
    )
    source = models.CharField(max_length=100)
    stage = models.CharField(max_length=200, blank=True, default="")
    message = models.TextField()
    stack = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64)
    occurrences = models.PositiveIntegerField(default=1)
    occurred_at = models.DateTimeField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    correlation_id = models.CharField(max_length=200, blank=True, default="")
    run_id = models.CharField(max_length=200, blank=True, default="")
    task_id = models.CharField(max_length=200, blank=True, default="")
    project = models.CharField(max_length=200, blank=True, default="")
    namespace = models.CharField(max_length=200, blank=True, default="")
    job = models.CharField(max_length=200, blank=True, default="")
    viewed_at = models.DateTimeField(null=True, blank=True)
    viewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        db_table = "runtime_errors"
        verbose_name = "runtime error"
        constraints = [
            # Grouping relies on this: the ingest upsert names it as its
            # conflict target.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(viewed_at__isnull=True),
                name="runtime_errors_one_active_per_fingerprint",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-last_seen_at", "-id"],
                condition=Q(viewed_at__isnull=True),
                name="runtime_errors_active_feed",
            ),
            models.Index(
                fields=["-last_seen_at", "-id"], name="runtime_errors_history"
            ),
            models.Index(
                fields=["source", "-last_seen_at"], name="runtime_errors_source"
            ),
            models.Index(fields=["run_id"], name="runtime_errors_run_id"),
            models.Index(fields=["correlation_id"], name="runtime_errors_correlation"),
            models.Index(fields=["task_id"], name="runtime_errors_task_id"),
            models.Index(fields=["fingerprint"], name="runtime_errors_fingerprint"),
            models.Index(fields=["viewed_at"], name="runtime_errors_viewed_at"),
        ]

    def __str__(self):
        return visible_controls(f"{self.level} {self.source}: {self.first_line}")

    def get_absolute_url(self):
        return reverse("runtime_errors:detail", args=[self.pk])

    @property
    def first_line(self):
        """Return the message's first line that is not blank."""
        for line in LINE_BREAK.split(self.message):
            if line.strip():
                return line
        return NO_MESSAGE_TEXT

    @property
    def is_active(self):
        return self.viewed_at is None


class HourlyCount(models.Model):
    """How many reports of one level arrived in one hour, by the server clock."""

    hour = models.DateTimeField(help_text="The start of the hour, in UTC.")
    level = models.CharField(max_length=8, choices=Level.choices)
    occurrences = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "runtime_errors_hourly"
        verbose_name = "hourly count"
        constraints = [
            # Ingest adds to the row for its hour and level with an upsert
            # that names this constraint's columns as its conflict target.
            models.UniqueConstraint(
                fields=["hour", "level"], name="runtime_errors_hourly_one_per_level"
            ),
        ]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}:00 {self.level}: {self.occurrences}"


def _new_public_key():
    return secrets.token_hex(16)


class IngestKey(AbstractAPIKey):
    """A service's key: a hashed secret for the API, a public key for Sentry."""

    sentry_public_key = models.CharField(
        max_length=32,
        unique=True,
        default=_new_public_key,
        editable=False,
        help_text="The key in the Sentry DSN; it is not the API secret.",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "ingest key"
        verbose_name_plural = "ingest keys"
