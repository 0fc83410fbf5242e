"""The project's own error records reach the journal through logging."""

import io
import logging
import os
import subprocess
import sys
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection, transaction
from django.test import Client

from runtime_errors import services, views
from runtime_errors.capture import JournalHandler
from runtime_errors.models import IngestKey, RuntimeError
from runtime_errors.redaction import SingleLineFormatter

from .live import PROJECT_DIR, shared_database_url

CAPTURE_LOGGER = "runtime_errors.capture"


@pytest.fixture
def journal_handler():
    """Attach a journal handler to the root logger, as settings do."""
    handler = JournalHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    handler.close()


@pytest.mark.django_db(transaction=True)
def test_error_logged_in_a_rolled_back_transaction_stays_with_traceback_and_context(
    journal_handler,
):
    context = {
        "run_id": "run-881",
        "task_id": "task-7",
        "stage": "deploy",
        "namespace": "billing",
        "job": "helm-upgrade",
        "project": "payments",
        "correlation_id": "corr-42",
        "payload": {"release": 42, "password": "hunter2"},
    }

    with pytest.raises(ValueError), transaction.atomic():
        IngestKey.objects.create_key(name="written-then-rolled-back")
        try:
            raise ValueError("chart render failed for release 42")
        except ValueError:
            logging.getLogger("control_plane.deploy").exception(
                "Deploy of release %s failed", 42, extra=context
            )
            raise
    assert journal_handler.flush()

    assert not IngestKey.objects.exists()
    error = RuntimeError.objects.get()
    assert error.level == "error"
    assert error.source == "control_plane.deploy"
    assert error.message == "Deploy of release 42 failed"
    assert error.stack.startswith("Traceback (most recent call last):")
    assert "ValueError: chart render failed for release 42" in error.stack
    for name, value in context.items():
        if name != "payload":
            assert getattr(error, name) == value
    assert error.payload == {"release": 42, "password": "[redacted]"}


@pytest.mark.django_db(transaction=True)
def test_source_in_extra_replaces_the_logger_name_and_repeats_group(
    journal_handler,
):
    log = logging.getLogger("control_plane.scheduler")

    log.error("Queue %s is stuck", "q-1", extra={"source": "scheduler"})
    log.error("Queue %s is stuck", "q-2", extra={"source": "scheduler"})
    log.warning("Below the handler's level")
    assert journal_handler.flush()

    error = RuntimeError.objects.get()
    assert error.source == "scheduler"
    assert error.occurrences == 2
    assert error.message == "Queue q-2 is stuck"


@pytest.mark.django_db(transaction=True)
async def test_error_logged_from_async_code_reaches_the_journal(journal_handler):
    async def job_step():
        logging.getLogger("jobs.runner").error(
            "Step failed", extra={"job": "nightly-export"}
        )

    await job_step()
    assert await sync_to_async(journal_handler.flush)()

    error = await RuntimeError.objects.aget(job="nightly-export")
    # The lookup's thread keeps its connection; the test database is dropped
    # at the end only when no connection is left open.
    await sync_to_async(lambda: connection.close())()

    assert error.source == "jobs.runner"


def test_failing_journal_write_neither_raises_nor_recurses_and_warns_once(
    journal_handler, monkeypatch, caplog
):
    written = []

    def failing_ingest(*, reports):
        written.extend(reports)
        # A database backend logs at ERROR as it fails; capturing that would
        # feed the failure back into the queue forever.
        logging.getLogger("django.db.backends").error("connection lost")
        raise OperationalError("connection lost")

    monkeypatch.setattr(services, "ingest_reports", failing_ingest)
    caplog.set_level(logging.WARNING, logger=CAPTURE_LOGGER)
    log = logging.getLogger("control_plane.runs")

    for number in range(3):
        log.error("Run %d failed", number)
        assert journal_handler.flush()

    assert [report.message for report in written] == [
        "Run 0 failed",
        "Run 1 failed",
        "Run 2 failed",
    ]
    warnings = [
        record
        for record in caplog.records
        if record.name == CAPTURE_LOGGER and record.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "Could not write 1 captured records" in warnings[0].getMessage()


def test_logging_never_waits_on_a_slow_journal_and_a_full_queue_counts_drops(
    monkeypatch, caplog
):
    handler = JournalHandler(queue_size=5)
    log = logging.getLogger("control_plane.flood")
    log.addHandler(handler)
    # Only this handler is timed, not the console the root logger writes to.
    monkeypatch.setattr(log, "propagate", False)
    entered, release = threading.Event(), threading.Event()
    written = []

    def slow_ingest(*, reports):
        entered.set()
        release.wait(10)
        written.extend(reports)

    monkeypatch.setattr(services, "ingest_reports", slow_ingest)
    caplog.set_level(logging.WARNING, logger=CAPTURE_LOGGER)

    try:
        log.error("flood 0")
        assert entered.wait(5)
        durations = []
        for number in range(1, 20):
            started = time.perf_counter()
            log.error("flood %d", number)
            durations.append(time.perf_counter() - started)
        release.set()
        assert handler.flush()
    finally:
        release.set()
        log.removeHandler(handler)
        handler.close()

    print(f"slowest log call while the journal is stuck: {max(durations) * 1e3:.2f} ms")
    assert max(durations) < 0.025
    assert handler.dropped == 14
    assert len(written) == 6
    messages = [r.getMessage() for r in caplog.records if r.name == CAPTURE_LOGGER]
    assert sum("queue is full" in message for message in messages) == 1
    assert "Dropped 14 captured records while the queue was full." in messages


@pytest.mark.django_db(transaction=True)
def test_unhandled_view_exception_reaches_the_journal_once(
    journal_handler, staff_user, monkeypatch
):
    def broken_list(**kwargs):
        raise ZeroDivisionError("division by zero in the dashboard")

    monkeypatch.setattr(views.selectors, "runtime_error_list", broken_list)
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)

    response = client.get("/staff/")
    assert journal_handler.flush()

    assert response.status_code == 500
    error = RuntimeError.objects.get()
    assert error.source == "django.request"
    assert "ZeroDivisionError: division by zero in the dashboard" in error.stack


def run_shell(code):
    """Run code in `manage.py shell` under the real settings, capture on."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": shared_database_url(),
        "RUNTIME_ERRORS_CAPTURE": "1",
    }
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_unhandled_exception_in_a_management_command_reaches_the_journal():
    finished = run_shell("raise LookupError('nightly import lost its source')")

    assert finished.returncode != 0
    assert "LookupError" in finished.stderr
    error = RuntimeError.objects.get()
    assert error.source == "manage.py shell"
    assert error.message == "Unhandled LookupError in manage.py shell"
    assert "LookupError: nightly import lost its source" in error.stack


@pytest.mark.django_db(transaction=True)
def test_an_error_logged_right_before_a_normal_exit_is_written_before_it_ends():
    finished = run_shell(
        "import logging; "
        "logging.getLogger('jobs.nightly_export').error('export skipped 3 tenants')"
    )

    assert finished.returncode == 0, finished.stderr
    error = RuntimeError.objects.get()
    assert error.source == "jobs.nightly_export"
    assert error.message == "export skipped 3 tenants"


def test_capture_takes_the_same_context_fields_and_limits_as_ingest():
    from runtime_errors import capture, reports

    assert capture.CONTEXT_FIELDS == ("source", *reports.TEXT_FIELDS)
    assert capture.FIELD_BYTES == {"source": reports.MAX_SOURCE_BYTES}
    assert capture.CONTEXT_BYTES == reports.MAX_CONTEXT_BYTES


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_a_crashed_command_prints_its_traceback_redacted_and_quietly():
    finished = run_shell("raise ValueError('sync failed with apikey=cmdsecret77')")

    assert finished.returncode != 0
    assert "ValueError: sync failed with apikey=[redacted]" in finished.stderr
    assert "cmdsecret77" not in finished.stderr
    assert "Push to staff sockets failed" not in finished.stderr
    assert "never awaited" not in finished.stderr
    assert "apikey=[redacted]" in RuntimeError.objects.get().stack


@pytest.mark.django_db(transaction=True)
def test_a_forged_host_header_raises_no_alert_while_real_errors_do(
    journal_handler, client
):
    client.get("/healthz", HTTP_HOST="alpha.example")
    logging.getLogger("billing.jobs").error("ledger export failed")

    assert journal_handler.flush()
    sources = list(RuntimeError.objects.values_list("source", flat=True))
    assert sources == ["billing.jobs"]


@pytest.mark.django_db(transaction=True)
def test_captured_record_keeps_its_lines_while_the_console_line_escapes_them(
    journal_handler,
):
    console = next(
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, SingleLineFormatter)
    )
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("control_plane.sync").error("sync failed:\n\tshard 3")
    finally:
        console.setStream(previous)
    assert journal_handler.flush()

    assert RuntimeError.objects.get().message == "sync failed:\n\tshard 3"
    assert "sync failed:\\x0a\\x09shard 3" in stream.getvalue()
    assert stream.getvalue().count("\n") == 1


def test_a_line_that_cannot_be_redacted_is_withheld(monkeypatch):
    from runtime_errors import redaction

    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token=%s", ("leaky-4",), None
    )
    control = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token=%s", ("leaky-4",), None
    )
    redaction.RedactingFilter().filter(control)

    def broken(text):
        raise ValueError("a broken pattern")

    monkeypatch.setattr(redaction, "redact_text", broken)
    redaction.RedactingFilter().filter(record)

    assert control.getMessage() == "token=[redacted]"
    assert record.getMessage() == redaction.WITHHELD
