"""In-process capture: the project's own error records become journal entries.

`JournalHandler` is a logging handler. In the caller's thread it only turns a
record into a report body (a snapshot: the values it refers to may change
once the caller moves on) and hands it to a bounded queue, so logging never
waits on the database. One worker thread drains the queue through the same
validation, redaction and grouping as the ingest API. The worker holds its
own database connection, so an entry stands even when the caller's
transaction rolls back.

Capture is best-effort. A full queue drops records and counts them; a failed
write is logged once as a warning on this module's logger, whose records,
like everything logged from the worker thread, are never captured again.
"""

import json
import logging
import os
import queue
import sys
import threading
import time
from traceback import format_exception

from .text import clean_text, cut_utf8

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
BATCH_SIZE = 100
FLUSH_SECONDS = 5.0

# Fields a record's `extra` may set; `source` replaces the logger name. The
# names and limits repeat those of `reports`: LOGGING imports this module
# before apps are ready, when models (and so `reports`) cannot load yet;
# tests/test_capture.py holds the two in step.
CONTEXT_FIELDS = (
    "source",
    "stage",
    "correlation_id",
    "run_id",
    "task_id",
    "project",
    "namespace",
    "job",
)
FIELD_BYTES = {"source": 100}
CONTEXT_BYTES = 200
EMPTY_MESSAGE = "(empty log message)"

# These loggers summarise a response after the error behind it was logged
# where it was handled; only their records with a traceback are new.
RESPONSE_LOGGERS = frozenset({"django.request", "django.server"})
# Django logs a client's suspicious request (a forged Host header, too many
# fields) at ERROR here; anyone could otherwise raise staff alerts at will.
CLIENT_FAULT_LOGGERS = "django.security"

_STOP = object()


class JournalHandler(logging.Handler):
    """Write error-level records to the journal from a background worker."""

    def __init__(
        self,
        level=logging.ERROR,
        *,
        queue_size=DEFAULT_QUEUE_SIZE,
        flush_seconds=FLUSH_SECONDS,
    ):
        super().__init__(level)
        self.queue = queue.Queue(maxsize=queue_size)
        self.flush_seconds = flush_seconds
        self.dropped = 0
        self._unreported_drops = 0
        self._drop_lock = threading.Lock()
        self._worker = None
        self._worker_lock = threading.Lock()
        self._emitting = threading.local()
        self._failing = False

    def filter(self, record):
        """Refuse records that capture itself caused, before any lock."""
        if record.name == logger.name or record.name.startswith(logger.name + "."):
            return False
        if threading.current_thread() is self._worker:
            return False
        if getattr(self._emitting, "active", False):
            return False
        if record.name in RESPONSE_LOGGERS and not record.exc_info:
            return False
        if record.name.startswith(CLIENT_FAULT_LOGGERS):
            return False
        return super().filter(record)

    def emit(self, record):
        """Queue the record as a report body; never raise, never wait."""
        self._emitting.active = True
        try:
            body = report_body(record)
            self._start_worker()
            self.queue.put_nowait(body)
        except queue.Full:
            self._count_drop()
        except Exception as error:
            logger.warning(
                "Could not capture a record from %s: %s",
                record.name,
                type(error).__name__,
            )
        finally:
            self._emitting.active = False

    def flush(self, timeout=None):
        """Wait, within a bound, until every queued record is written."""
        timeout = self.flush_seconds if timeout is None else timeout
        deadline = time.monotonic() + timeout
        done = self.queue.all_tasks_done
        with done:
            while self.queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                done.wait(remaining)
        return True

    def close(self):
        """Write what is queued, then stop the worker."""
        self.flush()
        worker = self._worker
        if worker is not None and worker.is_alive():
            try:
                self.queue.put(_STOP, timeout=self.flush_seconds)
            except queue.Full:
                pass
        super().close()

    def _start_worker(self):
        if self._worker is not None and self._worker.is_alive():
            return
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._drain, name="journal-capture", daemon=True
                )
                self._worker.start()

    def _count_drop(self):
        with self._drop_lock:
            self.dropped += 1
            self._unreported_drops += 1
            first = self._unreported_drops == 1
        if first:
            logger.warning(
                "The journal capture queue is full (%d records); dropping "
                "records until it drains.",
                self.queue.maxsize,
            )

    def _drain(self):
        while True:
            batch = [self.queue.get()]
            while len(batch) < BATCH_SIZE:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break

            bodies = [body for body in batch if body is not _STOP]
            try:
                if bodies:
                    self._write(bodies)
                self._report_drops()
            finally:
                for _ in batch:
                    self.queue.task_done()
            if len(bodies) < len(batch):
                return

    def _write(self, bodies):
        # Imported here: the handler is built while logging is configured,
        # before the apps and models are ready.
        from django.db import connections

        from . import services

        try:
            reports = [report for report in map(_parse, bodies) if report]
            if reports:
                services.ingest_reports(reports=reports)
        except Exception as error:
            self._note_failure(error, len(bodies))
        else:
            self._note_success()
        finally:
            connections.close_all()

    def _note_failure(self, error, count):
        if self._failing:
            return
        self._failing = True
        logger.warning(
            "Could not write %d captured records to the journal (%s); dropping "
            "them, and further failures, until a write succeeds.",
            count,
            type(error).__name__,
        )

    def _note_success(self):
        if self._failing:
            self._failing = False
            logger.info("Captured records reach the journal again.")

    def _report_drops(self):
        with self._drop_lock:
            count, self._unreported_drops = self._unreported_drops, 0
        if count:
            logger.warning(
                "Dropped %d captured records while the queue was full.", count
            )


def report_body(record):
    """Return an ingest body for a log record, with its `extra` context."""
    body = {
        "level": min(max(record.levelno // 10 * 10, 10), 50),
        "source": record.name,
        "message": _message(record),
        "stack": _stack(record),
        "occurred_at": record.created,
    }
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None and value != "":
            limit = FIELD_BYTES.get(name, CONTEXT_BYTES)
            body[name] = cut_utf8(clean_text(str(value)), limit, "…")
    if body["source"] == record.name:
        body["source"] = cut_utf8(record.name, FIELD_BYTES["source"], "…")
    if getattr(record, "payload", None) is not None:
        body["payload"] = _payload(record.payload)
    return body


def _message(record):
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    return message if message.strip() else EMPTY_MESSAGE


def _stack(record):
    parts = []
    if record.exc_info and record.exc_info[0] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def _payload(value):
    # A round trip through JSON copies the payload as it is now and turns
    # dates, decimals and other objects into text.
    if not isinstance(value, dict):
        value = {"value": value}
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError):
        return {"capture_error": "The payload could not be copied as JSON."}


def _parse(body):
    # Imported late, like services in JournalHandler._write.
    from django.utils import timezone

    from .reports import ReportsInvalid, parse_report

    now = timezone.now()
    try:
        return parse_report(body, now=now)
    except ReportsInvalid as invalid:
        kept = {
            name: value for name, value in body.items() if name not in invalid.errors
        }
        kept["payload"] = {**kept.get("payload", {}), "capture_errors": invalid.errors}
    try:
        return parse_report(kept, now=now)
    except ReportsInvalid:
        logger.warning("Dropped a captured record from %s: invalid.", body["source"])
        return None


def install_excepthooks():
    """Log unhandled exceptions, of the process and of its threads, at ERROR
    so that a crashed command or job reaches the journal."""
    if getattr(sys.excepthook, "captures_to_journal", False):
        return
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def excepthook(kind, value, traceback):
        if not issubclass(kind, Exception):
            previous_hook(kind, value, traceback)
            return
        _log_unhandled(_program(), (kind, value, traceback))
        _print_redacted(kind, value, traceback)

    def thread_excepthook(args):
        if not issubclass(args.exc_type, Exception):
            previous_thread_hook(args)
            return
        where = f"thread {args.thread.name if args.thread else '?'}"
        _log_unhandled(where, (args.exc_type, args.exc_value, args.exc_traceback))
        _print_redacted(args.exc_type, args.exc_value, args.exc_traceback)

    excepthook.captures_to_journal = True
    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def _print_redacted(kind, value, traceback):
    # Python's own hook would print the exception's text as it is, secrets
    # and all; this prints the same traceback through redaction.
    from .redaction import redact_text

    text = "".join(format_exception(kind, value, traceback))
    sys.stderr.write(redact_text(text))


def _program():
    # The command name only: later arguments may hold secrets.
    argv = sys.argv or ["python"]
    name = os.path.basename(argv[0]) or "python"
    if len(argv) > 1 and not argv[1].startswith("-"):
        return f"{name} {argv[1]}"
    return name


def _log_unhandled(where, exc_info):
    logging.getLogger("runtime_errors.unhandled").error(
        "Unhandled %s in %s",
        exc_info[0].__name__,
        where,
        exc_info=exc_info,
        extra={"source": where},
    )
