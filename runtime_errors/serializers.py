"""API shapes: the record as served and pushed, and the ingest body."""

import datetime as dt
import functools

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import reports
from .links import context_links
from .models import CONTEXT_FIELDS, Level, RuntimeError


class UTCDateTimeField(serializers.DateTimeField):
    """A date-time always written in UTC, whatever TIME_ZONE says."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class ViewerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class RuntimeErrorSerializer(serializers.ModelSerializer):
    """A journal record as the staff API serves it and pushes carry it."""

    occurred_at = UTCDateTimeField()
    first_seen_at = UTCDateTimeField()
    last_seen_at = UTCDateTimeField()
    viewed_at = UTCDateTimeField(allow_null=True)
    viewed_by = ViewerSerializer(allow_null=True)
    url = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = RuntimeError
        fields = [
            "id",
            "level",
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
            "viewed_at",
            "viewed_by",
            "url",
            "links",
        ]
        read_only_fields = fields

    def get_url(self, error) -> str:
        return error.get_absolute_url()

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "URL per context field present.",
        }
    )
    def get_links(self, error):
        return context_links(error)


# Blank text is refused: at least one character that is not white space.
NOT_BLANK = RegexValidator(r"\S", message="This field may not be blank.")
EARLIEST_EPOCH = int(reports.EARLIEST.timestamp())


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "enum": [*Level.values, *reports.LEVEL_ALIASES],
            },
            {"type": "integer", "minimum": 10, "maximum": 50},
        ],
        "description": (
            "A level, any case; an alias (warn, err, crit, fatal, exception); "
            "or logging's numbers 10-50."
        ),
    }
)
class LevelField(serializers.Field):
    pass


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date-time"},
            {"type": "number", "minimum": EARLIEST_EPOCH},
        ],
        "description": (
            "ISO 8601 with any offset (UTC without one) or epoch seconds; "
            "from 2000 to a day ahead of the server's clock."
        ),
    }
)
class OccurredAtField(serializers.Field):
    pass


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": reports.MAX_FINGERPRINT_PART_BYTES},
            {
                "type": "array",
                "items": {
                    "type": "string",
                    "maxLength": reports.MAX_FINGERPRINT_PART_BYTES,
                },
                "minItems": 1,
                "maxItems": reports.MAX_FINGERPRINT_PARTS,
            },
        ],
        "description": "A string, or a list of strings that may hold {{ default }}.",
    }
)
class FingerprintField(serializers.Field):
    pass


def serialize_errors(errors):
    """Return records as plain JSON-ready dicts."""
    record = _record_serializer()
    return [record.to_representation(error) for error in errors]


@functools.cache
def _record_serializer():
    # Every push serializes the stack; a serializer builds its fields anew
    # for each instance, which costs more than the records themselves.
    return RuntimeErrorSerializer()


class IngestReportSerializer(serializers.Serializer):
    """One report, as services send it (documentation of the body).

    An optional field may also be null, which ingest reads as absent.
    """

    level = LevelField()
    source = serializers.CharField(
        max_length=reports.MAX_SOURCE_BYTES,
        validators=[NOT_BLANK],
        help_text="The reporting service, at most 100 UTF-8 bytes.",
    )
    message = serializers.CharField(
        validators=[NOT_BLANK], help_text="Cut with a marker past 8 KiB."
    )
    stack = serializers.CharField(
        required=False, allow_null=True, help_text="Head and tail kept past 64 KiB."
    )
    payload = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="A JSON object, at most 64 KiB as compact JSON and 20 levels.",
    )
    occurred_at = OccurredAtField(required=False, allow_null=True)
    fingerprint = FingerprintField(required=False, allow_null=True)
    stage = serializers.CharField(required=False, allow_null=True, max_length=200)
    correlation_id = serializers.CharField(
        required=False, allow_null=True, max_length=200
    )
    run_id = serializers.CharField(required=False, allow_null=True, max_length=200)
    task_id = serializers.CharField(required=False, allow_null=True, max_length=200)
    project = serializers.CharField(required=False, allow_null=True, max_length=200)
    namespace = serializers.CharField(required=False, allow_null=True, max_length=200)
    job = serializers.CharField(required=False, allow_null=True, max_length=200)


class IngestResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    fingerprint = serializers.CharField()
    occurrences = serializers.IntegerField()
    created = serializers.BooleanField()


class IngestBatchResultSerializer(serializers.Serializer):
    results = IngestResultSerializer(many=True)


class FeedSerializer(serializers.Serializer):
    active_count = serializers.IntegerField()
    results = RuntimeErrorSerializer(many=True)


class BulkViewedRequestSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=reports.MAX_BATCH,
        allow_empty=False,
    )


class BulkViewedResultSerializer(serializers.Serializer):
    viewed = serializers.ListField(child=serializers.IntegerField())
    already_viewed = serializers.ListField(child=serializers.IntegerField())
    not_found = serializers.ListField(child=serializers.IntegerField())
