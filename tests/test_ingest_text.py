"""Text that changes under cleaning and redaction still fits where it is kept."""

import pytest

from runtime_errors.models import RuntimeError

from .conftest import STAFF_URL, post_json, report

pytestmark = pytest.mark.django_db

# Each repeat is 10 bytes and grows to 17 once its password is redacted.
URL_WITH_PASSWORD = "a://u:p@h "


@pytest.mark.parametrize(
    ("field", "limit", "text"),
    [
        ("source", 100, URL_WITH_PASSWORD * 10),
        ("stage", 200, "pwd=a " * 33),
        ("run_id", 200, "pwd=a " * 33),
        ("job", 200, URL_WITH_PASSWORD * 20),
    ],
)
def test_a_field_that_redaction_lengthens_is_stored_within_its_limit(
    ingest_client, staff_client, field, limit, text
):
    answer = post_json(ingest_client, report(**{field: text}))

    assert answer.status_code == 201
    stored = getattr(RuntimeError.objects.get(pk=answer.json()["id"]), field)
    assert len(stored.encode()) <= limit
    assert "[redacted]" in stored
    assert ":p@" not in stored and "pwd=a" not in stored
    listed = staff_client.get(STAFF_URL, {"status": "all"}).json()["results"]
    assert [error[field] for error in listed] == [stored]


def test_a_batch_with_a_lengthened_field_keeps_every_report(ingest_client):
    batch = [report(message="first"), report(source=URL_WITH_PASSWORD * 10)]

    answer = post_json(ingest_client, batch)

    assert answer.status_code == 201
    assert [result["created"] for result in answer.json()["results"]] == [True, True]
    assert RuntimeError.objects.count() == 2


@pytest.mark.parametrize(
    "given",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
    ],
)
def test_occurred_at_outside_utc_range_is_a_400_naming_it(ingest_client, given):
    refused = post_json(ingest_client, report(occurred_at=given))
    accepted = post_json(ingest_client, report(occurred_at="2024-05-01T12:00:00+14:00"))

    assert refused.status_code == 400
    assert refused.json() == {"occurred_at": ["Out of range once converted to UTC."]}
    assert accepted.status_code == 201
    assert RuntimeError.objects.count() == 1


def test_unknown_level_answer_lists_every_alias(ingest_client):
    refused = post_json(ingest_client, report(level="LOUD"))

    assert refused.status_code == 400
    assert "warn, err, fatal, exception, crit" in refused.json()["level"][0]
    assert post_json(ingest_client, report(level="crit")).status_code == 201


def test_payload_keys_that_clean_to_one_name_keep_every_value(ingest_client):
    body = (
        '{"level": "error", "source": "s", "message": "m", "payload": '
        '{"a\\u0000": "first", "a\\ud800": "second", "a\\udc00": "third", "b": 1}}'
    )

    answer = ingest_client.post(
        "/api/v1/ingest/runtime-errors/", data=body, content_type="application/json"
    )

    assert answer.status_code == 201
    assert RuntimeError.objects.get().payload == {
        "a\ufffd": "first",
        "a\ufffd (2)": "second",
        "a\ufffd (3)": "third",
        "b": 1,
    }
