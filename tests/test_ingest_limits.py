"""Ingest limits, hostile text and timestamps: clear answers, safe storage."""

import datetime as dt
import gzip
import json
import time
from unittest import mock

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from runtime_errors.models import RuntimeError
from runtime_errors.parsers import IngestJSONParser
from runtime_errors.reports import MESSAGE_CUT_MARKER, STACK_CUT_MARKER

from .conftest import INGEST_URL, post_json, report

KIB = 1024
MIB = 1024 * KIB


def post_raw(client, raw, content_type="application/json"):
    return client.post(INGEST_URL, data=raw, content_type=content_type)


def padded_body(size):
    """Return a valid report body of exactly `size` bytes; its message is
    long, which is cut, not refused."""
    body = json.dumps(report(message=""))
    padding = "m" * (size - len(body))
    padded = body.replace('"message": ""', f'"message": "{padding}"')
    assert len(padded) == size
    return padded


# Body size: decided by the ASGI guard before Django reads or parses it.


def asgi_client(ingest_key):
    from config.asgi import application

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application),
        base_url="http://localhost",
        headers={
            "Authorization": f"Api-Key {ingest_key}",
            "Content-Type": "application/json",
        },
    )


@pytest.mark.django_db(transaction=True)
async def test_body_over_1_mib_is_a_413_decided_before_parsing(ingest_key):

    async def chunks():
        for _ in range(MIB // (64 * KIB) + 1):
            yield b" " * (64 * KIB)

    real_parse = IngestJSONParser.parse
    with mock.patch.object(
        IngestJSONParser, "parse", autospec=True, side_effect=real_parse
    ) as parse:
        async with asgi_client(ingest_key) as client:
            declared = await client.post(INGEST_URL, content=b" " * (MIB + 1))
            streamed = await client.post(INGEST_URL, content=chunks())
            assert parse.call_count == 0
            at_limit = await client.post(INGEST_URL, content=padded_body(MIB))

    assert declared.status_code == 413
    assert declared.json() == {"detail": f"The body is larger than {MIB} bytes."}
    assert streamed.status_code == 413
    assert "content-length" not in streamed.request.headers
    assert at_limit.status_code == 201
    assert parse.call_count == 1
    assert await RuntimeError.objects.acount() == 1
    await sync_to_async(connections.close_all)()


# Payload size and depth.


def nested(depth):
    payload = {"leaf": 1}
    for _ in range(depth - 1):
        payload = {"a": payload}
    return payload


@pytest.mark.django_db
def test_payload_deeper_than_20_levels_is_a_400_that_says_so(ingest_client):
    refused = post_json(ingest_client, report(payload=nested(21)))
    accepted = post_json(ingest_client, report(payload=nested(20)))

    assert refused.status_code == 400
    assert refused.json() == {
        "payload": ["Nested too deeply: at most 20 levels; got 21."]
    }
    assert accepted.status_code == 201
    assert RuntimeError.objects.get().payload == nested(20)


@pytest.mark.django_db
@pytest.mark.parametrize(("opener", "closer"), [('{"a":', "}"), ("[", "]")])
def test_payload_nested_thousands_deep_is_a_400_not_a_crash(
    ingest_client, opener, closer
):
    for depth in (900, 5000):
        raw = (
            '{"level":"error","source":"svc","message":"deep","payload":{"a":'
            + opener * depth
            + "1"
            + closer * depth
            + "}}"
        )
        response = post_raw(ingest_client, raw)

        assert response.status_code == 400
        assert "nested too deeply" in json.dumps(response.json()).lower()
    assert post_json(ingest_client, report()).status_code == 201
    assert RuntimeError.objects.count() == 1


@pytest.mark.django_db
def test_payload_over_64_kib_is_a_400_that_says_so(ingest_client):
    overhead = len(json.dumps({"blob": ""}, separators=(",", ":")))
    fits = {"blob": "x" * (64 * KIB - overhead)}
    too_big = {"blob": "x" * (64 * KIB - overhead + 1)}

    refused = post_json(ingest_client, report(payload=too_big))
    accepted = post_json(ingest_client, report(payload=fits))

    assert refused.status_code == 400
    assert refused.json() == {
        "payload": [
            f"Too large: at most {64 * KIB} bytes as compact JSON; got {64 * KIB + 1}."
        ]
    }
    assert accepted.status_code == 201
    assert RuntimeError.objects.get().payload == fits


# Message and stack cuts.


@pytest.mark.django_db
def test_message_over_8_kib_is_cut_with_a_visible_marker(ingest_client):
    exact = "é" * (4 * KIB)
    long = "m" * (8 * KIB - 1) + "é" + "tail-of-message"

    kept = post_json(ingest_client, report(message=exact, source="a"))
    cut = post_json(ingest_client, report(message=long, source="b"))

    assert RuntimeError.objects.get(pk=kept.json()["id"]).message == exact
    message = RuntimeError.objects.get(pk=cut.json()["id"]).message
    assert cut.status_code == 201
    assert message.endswith(MESSAGE_CUT_MARKER)
    assert len(message.encode()) <= 8 * KIB
    assert message.startswith("m" * (8 * KIB - 100))
    assert "tail-of-message" not in message


@pytest.mark.django_db
def test_stack_over_64_kib_keeps_head_and_tail_with_a_marker(ingest_client):
    stack = "HEAD-OF-STACK\n" + "frame line\n" * 7000 + "ValueError: TAIL-OF-STACK"

    response = post_json(ingest_client, report(stack=stack))

    stored = RuntimeError.objects.get(pk=response.json()["id"]).stack
    assert response.status_code == 201
    assert len(stack.encode()) > 64 * KIB
    assert len(stored.encode()) <= 64 * KIB
    assert stored.startswith("HEAD-OF-STACK\n")
    assert stored.endswith("ValueError: TAIL-OF-STACK")
    assert STACK_CUT_MARKER in stored


# Batches.


@pytest.mark.django_db
def test_batch_over_1000_is_a_400_and_stores_nothing(ingest_client):
    refused = post_json(ingest_client, [report(source=f"s{n}") for n in range(1001)])
    assert RuntimeError.objects.count() == 0
    accepted = post_json(ingest_client, [report(source=f"s{n}") for n in range(1000)])

    assert refused.status_code == 400
    assert refused.json() == {
        "non_field_errors": ["A batch holds at most 1000 reports; got 1001."]
    }
    assert accepted.status_code == 201
    assert len(accepted.json()["results"]) == 1000
    assert RuntimeError.objects.count() == 1000


@pytest.mark.django_db
def test_one_bad_report_in_a_batch_stores_nothing_and_names_its_index(
    ingest_client,
):
    response = post_json(ingest_client, [report(), report(level="LOUD"), report()])
    stored = RuntimeError.objects.count()
    accepted = post_json(ingest_client, [report(), report(level="WARN"), report()])

    assert response.status_code == 400
    assert list(response.json()) == ["1"]
    assert "level" in response.json()["1"]
    assert stored == 0
    assert accepted.status_code == 201
    assert len(accepted.json()["results"]) == 3
    assert RuntimeError.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "limit"),
    [("source", 100), ("stage", 200), ("run_id", 200), ("job", 200)],
)
def test_short_fields_over_their_byte_limit_are_a_400(ingest_client, field, limit):
    # "é" is two bytes: a limit in characters would let these through.
    over = "é" * (limit // 2) + "x"
    refused = post_json(ingest_client, report(**{field: over}))
    accepted = post_json(ingest_client, report(**{field: "é" * (limit // 2)}))

    assert refused.status_code == 400
    assert refused.json() == {field: [f"At most {limit} UTF-8 bytes; got {limit + 1}."]}
    assert accepted.status_code == 201
    assert getattr(RuntimeError.objects.get(), field) == "é" * (limit // 2)


# Hostile text: one rule, NUL and lone surrogates become U+FFFD everywhere.

TEXT_FIELDS = [
    "message",
    "stack",
    "source",
    "stage",
    "correlation_id",
    "run_id",
    "task_id",
    "project",
    "namespace",
    "job",
]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["\\u0000", "\\ud83d", "\\udc00"])
def test_nul_and_lone_surrogates_become_replacement_characters_in_every_field(
    ingest_client, bad
):
    fields = ",".join(f'"{name}":"a{bad}b-{name}"' for name in TEXT_FIELDS)
    raw = (
        '{"level":"error",'
        + fields
        + ',"payload":{"k'
        + bad
        + 'ey":["v'
        + bad
        + '",{"n'
        + bad
        + '":"x'
        + bad
        + '"}]},"fingerprint":["f'
        + bad
        + '"]}'
    )

    response = post_raw(ingest_client, raw)

    assert response.status_code == 201, response.content
    row = RuntimeError.objects.get(pk=response.json()["id"])
    for name in TEXT_FIELDS:
        assert getattr(row, name) == f"a\ufffdb-{name}"
    assert row.payload == {"k\ufffdey": ["v\ufffd", {"n\ufffd": "x\ufffd"}]}


@pytest.mark.django_db
def test_valid_surrogate_pair_is_stored_as_one_character(ingest_client):
    raw = json.dumps(report()).replace(
        '"message": "invoice 17 failed to render"', '"message": "ok \\ud83d\\ude00"'
    )

    response = post_raw(ingest_client, raw)

    assert RuntimeError.objects.get(pk=response.json()["id"]).message == "ok \U0001f600"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "content_type", "status", "detail"),
    [
        (b'{"level":"error","source":"\xff\xfe"}', "application/json", 400, "UTF-8"),
        (b"level=error&source=x", "application/json", 400, "not valid JSON"),
        (
            b'{"level":"error","source":"s","message":NaN}',
            "application/json",
            400,
            "NaN",
        ),
        (b'{"level":"error"}', "text/plain", 415, "Unsupported media type"),
        (b"level=error", "application/x-www-form-urlencoded", 415, "Unsupported"),
    ],
)
def test_bodies_that_are_not_utf8_json_are_refused_with_a_reason(
    ingest_client, raw, content_type, status, detail
):
    response = post_raw(ingest_client, raw, content_type=content_type)
    accepted = post_json(ingest_client, report())

    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert accepted.status_code == 201
    assert RuntimeError.objects.count() == 1


# Timestamps: the right UTC instant, or a 400 naming occurred_at.

UTC = dt.UTC


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-05-01T12:00:00+02:00", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (
            "2024-05-01T12:00:00.250-03:30",
            dt.datetime(2024, 5, 1, 15, 30, 0, 250000, tzinfo=UTC),
        ),
        ("2024-05-01T10:00:00Z", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01t10:00:00z", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T15:45:00+0545", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (
            "2024-05-01T10:00:00.123456789Z",
            dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        ),
        ("2024-05-01T10:00:00", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (1714557600, dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (1714557600.5, dt.datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("1714557600", dt.datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_occurred_at_in_any_accepted_form_is_stored_as_the_utc_instant(
    ingest_client, settings, given, expected
):
    settings.TIME_ZONE = "America/New_York"

    response = post_json(ingest_client, report(occurred_at=given))

    assert response.status_code == 201, response.content
    assert RuntimeError.objects.get().occurred_at == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("01/05/2024 noon", "ISO 8601"),
        ("yesterday", "ISO 8601"),
        ("2024-13-45T10:00:00Z", "ISO 8601"),
        ("", "ISO 8601"),
        (True, "ISO 8601"),
        ([2024, 5, 1], "ISO 8601"),
        ({"at": "2024-05-01"}, "ISO 8601"),
        ("1999-12-31T23:59:59Z", "2000"),
        (946684799, "2000"),
        ("2999-01-01T00:00:00Z", "day ahead"),
        (1e20, "out of range"),
    ],
)
def test_garbage_occurred_at_is_a_400_naming_it_and_nothing_is_stored(
    ingest_client, given, reason
):
    refused = post_json(ingest_client, report(occurred_at=given))

    assert refused.status_code == 400
    assert list(refused.json()) == ["occurred_at"]
    assert reason in refused.json()["occurred_at"][0]
    assert RuntimeError.objects.count() == 0
    assert post_json(ingest_client, report()).status_code == 201


@pytest.mark.django_db
def test_missing_occurred_at_is_the_time_of_ingest(ingest_client):
    body = report()
    del body["occurred_at"]
    before = dt.datetime.now(UTC)

    response = post_json(ingest_client, body)

    row = RuntimeError.objects.get(pk=response.json()["id"])
    assert before <= row.occurred_at <= dt.datetime.now(UTC)


@pytest.mark.django_db
def test_text_shaped_to_make_patterns_backtrack_is_ingested_quickly(ingest_client):
    # Each piece looks like the start of a URL with a password, then offers
    # hundreds of "@" and a long run without white space: a pattern that
    # rescans the run for every "@" takes minutes on this body.
    piece = "a://b:" + "@" * 256 + "x" * 50000 + " "
    hostile = piece * 18 + "password" + " " * 50000 + "eyJ" + "a" * 50000
    started = time.perf_counter()

    response = post_json(ingest_client, report(message=hostile))

    assert response.status_code == 201
    assert time.perf_counter() - started < 10
    assert RuntimeError.objects.get().message.endswith(MESSAGE_CUT_MARKER)


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_compressed_body_is_a_415_naming_its_encoding(ingest_client, encoding):
    body = json.dumps(report())
    packed = gzip.compress(body.encode())

    refused = ingest_client.post(
        INGEST_URL,
        data=packed,
        content_type="application/json",
        HTTP_CONTENT_ENCODING=encoding,
    )
    plain = ingest_client.post(
        INGEST_URL,
        data=body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="identity",
    )

    assert refused.status_code == 415
    assert f'Content-Encoding "{encoding}"' in refused.json()["detail"]
    assert plain.status_code == 201
    assert RuntimeError.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "refused", "accepted"),
    [
        ("level", 40.5, 40),
        ("level", "٤٠", "40"),
        ("occurred_at", "١٧١٤٥٥٧٦٠٠", "1714557600"),
        ("fingerprint", "", "checkout"),
        ("fingerprint", ["checkout", ""], ["checkout", "{{ default }}"]),
    ],
)
def test_odd_field_values_are_400s_naming_the_field(
    ingest_client, field, refused, accepted
):
    bad = post_json(ingest_client, report(**{field: refused}))
    good = post_json(ingest_client, report(**{field: accepted}))

    assert bad.status_code == 400
    assert list(bad.json()) == [field]
    assert good.status_code == 201
    assert RuntimeError.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "level"),
    [(25, "info"), (40.0, "error"), (45, "error"), (50, "critical")],
)
def test_whole_logging_numbers_map_to_the_level_at_or_below(
    ingest_client, number, level
):
    response = post_json(ingest_client, report(level=number))

    assert response.status_code == 201
    assert RuntimeError.objects.get().level == level
