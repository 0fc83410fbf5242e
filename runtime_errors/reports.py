"""Validation of incoming reports: the ingest API's rules in one place.

`parse_reports` takes the decoded JSON body and returns clean, redacted
`Report` objects ready to store, or raises `ReportsInvalid` naming every bad
field (per item index for a batch). Nothing is stored unless every report in
the body is valid.
"""

import dataclasses
import datetime as dt
import json
import math
import re

from django.utils import timezone

from .grouping import compute_fingerprint
from .models import CONTEXT_FIELDS, LEVEL_BY_SEVERITY, SEVERITY, Level
from .redaction import redact_data, redact_text
from .text import (
    clean_data,
    clean_text,
    cut_utf8,
    cut_utf8_middle,
    depth_of,
    utf8_length,
)

MAX_BATCH = 1000
MAX_BODY_BYTES = 1024 * 1024
MAX_SOURCE_BYTES = 100
MAX_CONTEXT_BYTES = 200
MAX_MESSAGE_BYTES = 8 * 1024
MAX_STACK_BYTES = 64 * 1024
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_PAYLOAD_DEPTH = 20
MAX_FINGERPRINT_PARTS = 20
MAX_FINGERPRINT_PART_BYTES = 1024
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_CLOCK_AHEAD = dt.timedelta(days=1)

MESSAGE_CUT_MARKER = " […message cut at 8 KiB]"
STACK_CUT_MARKER = "\n[…stack cut: head and tail kept at 64 KiB…]\n"
TEXT_CUT_MARKER = "…"

TEXT_FIELDS = ("stage", *CONTEXT_FIELDS)
KNOWN_FIELDS = frozenset(
    {"level", "source", "message", "stack", "payload", "occurred_at", "fingerprint"}
    | set(TEXT_FIELDS)
)

LEVEL_ALIASES = {
    "warn": Level.WARNING,
    "err": Level.ERROR,
    "fatal": Level.CRITICAL,
    "exception": Level.ERROR,
    "crit": Level.CRITICAL,
}


class ReportsInvalid(Exception):
    """Raised with a JSON-ready description of every bad field."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@dataclasses.dataclass(slots=True)
class Report:
    level: str
    severity: int
    source: str
    message: str
    stack: str
    payload: dict
    occurred_at: dt.datetime
    fingerprint: str
    stage: str = ""
    correlation_id: str = ""
    run_id: str = ""
    task_id: str = ""
    project: str = ""
    namespace: str = ""
    job: str = ""


def parse_reports(data, *, now=None):
    """Return the reports in a decoded body, or raise ReportsInvalid."""
    now = now or timezone.now()
    if isinstance(data, dict):
        return [parse_report(data, now=now)]
    if not isinstance(data, list):
        raise ReportsInvalid(
            {"non_field_errors": ["Expected a JSON object or an array of them."]}
        )
    if not data:
        raise ReportsInvalid({"non_field_errors": ["The array is empty."]})
    if len(data) > MAX_BATCH:
        raise ReportsInvalid(
            {
                "non_field_errors": [
                    f"A batch holds at most {MAX_BATCH} reports; got {len(data)}."
                ]
            }
        )

    reports, errors = [], {}
    for index, item in enumerate(data):
        try:
            reports.append(parse_report(item, now=now))
        except ReportsInvalid as invalid:
            errors[str(index)] = invalid.errors
    if errors:
        raise ReportsInvalid(errors)
    return reports


def parse_report(item, *, now):
    """Return one clean, redacted report, or raise ReportsInvalid."""
    if not isinstance(item, dict):
        raise ReportsInvalid({"non_field_errors": ["Expected a JSON object."]})

    errors = {}
    values = {}
    for name, parse in _FIELD_PARSERS:
        try:
            values[name] = parse(item.get(name), now=now)
        except ValueError as error:
            errors[name] = [str(error)]
    if errors:
        raise ReportsInvalid(errors)

    level, severity = values.pop("level")
    client_fingerprint = values.pop("fingerprint")
    report = Report(level=level, severity=severity, fingerprint="", **values)
    report.fingerprint = compute_fingerprint(
        source=report.source,
        level=report.level,
        message=report.message,
        stack=report.stack,
        client=client_fingerprint,
    )
    return report


def parse_level(value, **_):
    """Return (level, severity) for a level name, alias or logging number."""
    if value is None or value == "":
        raise ValueError("This field is required.")
    if isinstance(value, bool):
        raise ValueError(_level_choices_message(value))
    if isinstance(value, str) and _LEVEL_DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Logging's levels are whole numbers; 40.5 is no level at all.
        whole = isinstance(value, int) or value.is_integer()
        if not whole or not _is_finite(value) or not 10 <= value <= 50:
            raise ValueError(_level_choices_message(value))
        severity = int(value) // 10 * 10
        return LEVEL_BY_SEVERITY[severity].value, severity
    if not isinstance(value, str):
        raise ValueError(_level_choices_message(value))
    name = value.strip().lower()
    level = LEVEL_ALIASES.get(name) or (name if name in Level.values else None)
    if level is None:
        raise ValueError(_level_choices_message(value))
    level = Level(level)
    return level.value, SEVERITY[level]


# ASCII only: str.isdigit() and int() also take other scripts' digits.
_LEVEL_DIGITS = re.compile(r"[0-9]{1,9}")


def _level_choices_message(value):
    shown = clean_text(str(value))[:50]
    return (
        f'"{shown}" is not a level; use one of {", ".join(Level.values)}, an '
        f"alias ({', '.join(LEVEL_ALIASES)}) or a whole logging number 10-50."
    )


def _required_text(value, *, limit):
    if value is None:
        raise ValueError("This field is required.")
    text = _text(value)
    if not text.strip():
        raise ValueError("This field may not be blank.")
    if limit and utf8_length(text) > limit:
        raise ValueError(f"At most {limit} UTF-8 bytes; got {utf8_length(text)}.")
    return text


def _text(value):
    if not isinstance(value, str):
        raise ValueError("Expected a string.")
    return clean_text(value)


def _optional_text(value, *, limit):
    if value is None:
        return ""
    text = _text(value)
    if utf8_length(text) > limit:
        raise ValueError(f"At most {limit} UTF-8 bytes; got {utf8_length(text)}.")
    return text


def _redacted_within(text, limit):
    # The limit holds for what the client sent; redaction can lengthen it
    # ("pwd=a" becomes "pwd=[redacted]"), and the column holds no more.
    return cut_utf8(redact_text(text), limit, TEXT_CUT_MARKER)


def parse_source(value, **_):
    text = _required_text(value, limit=MAX_SOURCE_BYTES)
    return _redacted_within(text, MAX_SOURCE_BYTES)


def parse_message(value, **_):
    text = redact_text(_required_text(value, limit=None))
    return cut_utf8(text, MAX_MESSAGE_BYTES, MESSAGE_CUT_MARKER)


def parse_stack(value, **_):
    if value is None:
        return ""
    text = redact_text(_text(value))
    return cut_utf8_middle(text, MAX_STACK_BYTES, STACK_CUT_MARKER)


def parse_payload(value, **_):
    """Return the payload cleaned and redacted, within its size and depth."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("Expected a JSON object.")
    depth = depth_of(value)
    if depth > MAX_PAYLOAD_DEPTH:
        raise ValueError(
            f"Nested too deeply: at most {MAX_PAYLOAD_DEPTH} levels; got {depth}."
        )
    payload = redact_data(clean_data(value))
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(
            f"Too large: at most {MAX_PAYLOAD_BYTES} bytes as compact JSON; got {size}."
        )
    return payload


def _is_finite(number):
    # An int is always finite, and math.isfinite cannot take a huge one.
    return isinstance(number, int) or math.isfinite(number)


def parse_occurred_at(value, *, now):
    """Return an aware UTC datetime from ISO 8601 text or epoch seconds."""
    if value is None:
        return now
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("Expected an ISO 8601 date-time or epoch seconds.")

    moment = _epoch_moment(value) if not isinstance(value, str) else None
    if moment is None:
        moment = iso_moment(value)

    if moment < EARLIEST:
        raise ValueError("Must not be before 2000-01-01T00:00:00Z.")
    if moment > now + MAX_CLOCK_AHEAD:
        raise ValueError("Must not be more than a day ahead of the server's clock.")
    return moment


# ASCII digits only: \d also matches other scripts' digits, which float()
# reads too.
_EPOCH_TEXT = re.compile(r"[+-]?\d{1,12}(?:\.\d{1,9})?", re.ASCII)


def _epoch_moment(seconds):
    if not _is_finite(seconds):
        raise ValueError("Expected a finite number of epoch seconds.")
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("Epoch seconds out of range.") from None


def iso_moment(text):
    """Return the aware UTC datetime of ISO 8601 text, UTC without an offset."""
    # RFC 3339 allows a lower-case "t" and "z"; without an offset the time
    # is UTC whatever TIME_ZONE says, since the server's zone is no
    # business of the client's.
    try:
        moment = dt.datetime.fromisoformat(text.strip().upper())
    except ValueError:
        raise ValueError(
            "Expected an ISO 8601 date-time such as 2024-05-01T10:00:00Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        # Year 1 or 9999 with an offset has no UTC instant a datetime holds.
        raise ValueError("Out of range once converted to UTC.") from None


def parse_fingerprint(value, **_):
    """Return the client's fingerprint as given (string or list), or None."""
    if value is None:
        return None
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, list) or not parts:
        raise ValueError("Expected a string or a non-empty list of strings.")
    if len(parts) > MAX_FINGERPRINT_PARTS:
        raise ValueError(f"At most {MAX_FINGERPRINT_PARTS} parts.")
    if not all(isinstance(part, str) for part in parts):
        raise ValueError("Expected a string or a non-empty list of strings.")
    if not all(1 <= utf8_length(part) <= MAX_FINGERPRINT_PART_BYTES for part in parts):
        raise ValueError(
            f"Each part is 1 to {MAX_FINGERPRINT_PART_BYTES} bytes; "
            "an empty one would group unrelated errors."
        )
    cleaned = [clean_text(part) for part in parts]
    return cleaned[0] if isinstance(value, str) else cleaned


def _context_parser(value, **_):
    text = _optional_text(value, limit=MAX_CONTEXT_BYTES)
    return _redacted_within(text, MAX_CONTEXT_BYTES)


_FIELD_PARSERS = (
    ("level", parse_level),
    ("source", parse_source),
    ("message", parse_message),
    ("stack", parse_stack),
    ("payload", parse_payload),
    ("occurred_at", parse_occurred_at),
    ("fingerprint", parse_fingerprint),
    *((name, _context_parser) for name in TEXT_FIELDS),
)
