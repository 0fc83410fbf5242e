"""Redaction rules as a service meets them through the ingest API."""

import io
import json
import logging
import re
from pathlib import Path

import pytest

from runtime_errors.models import RuntimeError

from .conftest import INGEST_URL, STAFF_URL, post_json, report

pytestmark = pytest.mark.django_db


def stored(client, **fields):
    response = post_json(client, report(**fields))
    assert response.status_code == 201, response.content
    return RuntimeError.objects.get(pk=response.json()["id"])


def stored_and_served(ingest_client, staff_client, body):
    """Post a raw JSON body; return the stored row and the staff API's answer."""
    response = ingest_client.post(
        INGEST_URL, data=body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    error_id = response.json()["id"]
    answer = staff_client.get(f"{STAFF_URL}{error_id}/")
    assert answer.status_code == 200, answer.content
    return RuntimeError.objects.get(pk=error_id), answer.json()


def test_keys_are_matched_by_words_so_author_is_kept(ingest_client):
    row = stored(
        ingest_client,
        payload={
            "author": "jane",
            "authority": "ca-1",
            "auth": "s3cr3t-a",
            "db_password": "s3cr3t-b",
            "accessToken": "s3cr3t-c",
            "X-Api-Key": "s3cr3t-d",
            "tokenizer": "wordpiece",
            "keyboard": "us",
        },
    )

    assert row.payload == {
        "author": "jane",
        "authority": "ca-1",
        "auth": "[redacted]",
        "db_password": "[redacted]",
        "accessToken": "[redacted]",
        "X-Api-Key": "[redacted]",
        "tokenizer": "wordpiece",
        "keyboard": "us",
    }


def test_sensitive_values_are_replaced_at_any_depth_keeping_structure(ingest_client):
    deep = {"password": "hunter2-deep", "user": "bob"}
    for level in range(15):
        deep = {f"level{level}": deep, "sibling": level}

    row = stored(
        ingest_client,
        payload={
            "nested": deep,
            "credentials": {"user": "bob", "key": "k-123", "enabled": True},
            "list": [{"secret": "in-a-list"}, "plain"],
            "empty_token": "",
            "no_session": None,
        },
    )

    node = row.payload["nested"]
    for level in reversed(range(15)):
        assert node["sibling"] == level
        node = node[f"level{level}"]
    assert node == {"password": "[redacted]", "user": "bob"}
    assert row.payload["credentials"] == {
        "user": "[redacted]",
        "key": "[redacted]",
        "enabled": True,
    }
    assert row.payload["list"] == [{"secret": "[redacted]"}, "plain"]
    assert row.payload["empty_token"] == ""
    assert row.payload["no_session"] is None


def test_header_pairs_lose_only_their_sensitive_values(ingest_client):
    row = stored(
        ingest_client,
        payload={
            "headers": [
                ["Authorization", "Bearer abc.def.ghi"],
                ["Accept", "application/json"],
                ["Cookie", "sessionid=xyz"],
            ],
            "har": [
                {"name": "X-Auth-Token", "value": "tok-1"},
                {"name": "Host", "value": "api.internal"},
                {"key": "Set-Cookie", "value": "a=b"},
            ],
        },
    )

    assert row.payload == {
        "headers": [
            ["Authorization", "[redacted]"],
            ["Accept", "application/json"],
            ["Cookie", "[redacted]"],
        ],
        "har": [
            {"name": "X-Auth-Token", "value": "[redacted]"},
            {"name": "Host", "value": "api.internal"},
            {"key": "Set-Cookie", "value": "[redacted]"},
        ],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "connect postgres://app:Pg-pw-1@db:5432/app failed",
            "connect postgres://app:[redacted]@db:5432/app failed",
        ),
        (
            "GET /v1/items?page=2&access_token=ya29.abc&format=json",
            "GET /v1/items?page=2&access_token=[redacted]&format=json",
        ),
        ("Authorization: Bearer 0b79bab50daca910b", "Authorization: [redacted]"),
        ("sent Basic dXNlcjpwYXNzd29yZA== upstream", "sent Basic [redacted] upstream"),
        ("Basic authentication failed", "Basic authentication failed"),
        (
            "host=db password='two words' dbname=x",
            "host=db password='[redacted]' dbname=x",
        ),
        (
            '{"api_key": "k-42", "region": "eu"}',
            '{"api_key": "[redacted]", "region": "eu"}',
        ),
        ("author: jane, auth: t0k3n", "author: jane, auth: [redacted]"),
        ("key AKIAIOSFODNN7EXAMPLE refused", "key [redacted] refused"),
        ("card 4111 1111 1111 1111 declined", "card [redacted] declined"),
        ("order 4111 1111 1111 1112 shipped", "order 4111 1111 1111 1112 shipped"),
        (
            "AccountName=a;AccountKey=Zm9v+/==;EndpointSuffix=x",
            "AccountName=a;AccountKey=[redacted];EndpointSuffix=x",
        ),
        (
            "cache-key-eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl sent",
            "cache-key-[redacted] sent",
        ),
        (
            '{"session_token": "' + "Zx9k" * 1500 + '", "user": "bob"}',
            '{"session_token": "[redacted]", "user": "bob"}',
        ),
        (
            'body "{\\"password\\": \\"hunter2-esc\\", \\"user\\": \\"bob\\"}"',
            'body "{\\"password\\": \\"[redacted]\\", \\"user\\": \\"bob\\"}"',
        ),
        ('cut short: password="open secret', 'cut short: password="[redacted]"'),
        (
            "pg_dump --password s3cr3t-flag --host db",
            "pg_dump --password [redacted] --host db",
        ),
        ("run --no-password --verbose", "run --no-password --verbose"),
        (
            "JOURNAL_KEY=Egixwdrb.abcdefghijklmnopqrstuvwxyz012345 refused",
            "JOURNAL_KEY=[redacted] refused",
        ),
        (
            "X-Sentry-Auth: Sentry sentry_key=5f0e2c, sentry_version=7",
            "X-Sentry-Auth: [redacted]",
        ),
        (
            "dsn https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1",
            "dsn https://[redacted]@o1.ingest.sentry.io/1",
        ),
        ("dump postgres://reporting@db/x", "dump postgres://reporting@db/x"),
    ],
)
def test_secrets_in_text_are_replaced_and_the_rest_kept(ingest_client, text, expected):
    row = stored(ingest_client, message=text, stack=text, payload={"note": text})

    assert row.message == expected
    assert row.stack == expected
    assert row.payload == {"note": expected}


DIGEST_RESPONSE = "6629fae49393a05397450978507c4ef1"
DIGEST_PARAMS = (
    'username="deploy", realm="api@example.com", uri="/v1/orders",'
    f' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", response="{DIGEST_RESPONSE}"'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "authorization=Bearer abcdefghijklmnop",
            "authorization=Bearer [redacted]",
        ),
        (
            "curl -H 'authorization=Bearer abcdefghijklmnop' https://api.internal",
            "curl -H 'authorization=Bearer [redacted]' https://api.internal",
        ),
        (
            "curl -H 'Authorization: Bearer abcdefghijklmnop' https://api.internal",
            "curl -H 'Authorization: [redacted]",
        ),
        ("auth: Token qwertyuiop, user=bob", "auth: Token [redacted], user=bob"),
        (
            "token=Basic dXNlcjpwYXNzd29yZA== region=eu",
            "token=Basic [redacted] region=eu",
        ),
        (
            "upstream refused Bearer abcdefghijklmnop (401)",
            "upstream refused Bearer [redacted] (401)",
        ),
        (
            f"proxy_authorization=Digest {DIGEST_PARAMS}\nretrying",
            "proxy_authorization=Digest [redacted]\nretrying",
        ),
        (
            f"Proxy-Authorization: Digest {DIGEST_PARAMS}\nretrying",
            "Proxy-Authorization: [redacted]\nretrying",
        ),
        (
            f"auth=Digest {DIGEST_PARAMS.partition(', ')[2]} (stale)",
            "auth=Digest [redacted]",
        ),
        (
            f"sent Digest {DIGEST_PARAMS}\nretrying",
            "sent Digest [redacted]\nretrying",
        ),
    ],
)
def test_a_scheme_loses_its_credential_after_a_key_a_header_or_alone(
    ingest_client, staff_client, text, expected
):
    body = json.dumps(report(message=text, stack=text, payload={"note": text}))

    row, answer = stored_and_served(ingest_client, staff_client, body)

    for served in (row.message, row.stack, row.payload["note"]):
        assert served == expected
    for served in (answer["message"], answer["stack"], answer["payload"]["note"]):
        assert served == expected


@pytest.mark.parametrize(
    "text",
    [
        "author=Bearer of bad news",
        "He was the Bearer of bad news again",
        "Bearer token missing from the request",
        "Basic authentication failed for user bob",
        'WWW-Authenticate: Digest realm="api", qop="auth", nonce="dcd98b7102dd"',
        "digest=sha256 checked",
    ],
)
def test_scheme_words_in_prose_and_challenges_are_kept(
    ingest_client, staff_client, text
):
    body = json.dumps(report(message=text, stack=text, payload={"note": text}))

    row, answer = stored_and_served(ingest_client, staff_client, body)

    for served in (row.message, row.stack, row.payload["note"]):
        assert served == text
    for served in (answer["message"], answer["stack"], answer["payload"]["note"]):
        assert served == text


def test_scheme_credentials_in_payload_strings_and_under_keys(
    ingest_client, staff_client
):
    body = json.dumps(
        report(
            payload={
                "command": "curl -H 'authorization=Bearer abcdefghijklmnop' -X POST",
                "proxy_authorization": f"Digest {DIGEST_PARAMS}",
                "headers": [["Authorization", "Bearer abcdefghijklmnop"]],
                "author": "Bearer of bad news",
            }
        )
    )

    row, answer = stored_and_served(ingest_client, staff_client, body)

    expected = {
        "command": "curl -H 'authorization=Bearer [redacted]' -X POST",
        "proxy_authorization": "[redacted]",
        "headers": [["Authorization", "[redacted]"]],
        "author": "Bearer of bad news",
    }
    assert row.payload == expected
    assert answer["payload"] == expected


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_aws_secret_access_keys_are_redacted_by_their_key(ingest_client, staff_client):
    text = (
        f"[default]\naws_secret_access_key = {AWS_SECRET}\n"
        f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
        f'{{"SecretAccessKey": "{AWS_SECRET}"}}\nregion = eu-west-1'
    )
    body = json.dumps(
        report(
            message=text,
            payload={
                "aws_secret_access_key": AWS_SECRET,
                "credentials": {"secretAccessKey": AWS_SECRET},
                "region": "eu-west-1",
            },
        )
    )

    row, answer = stored_and_served(ingest_client, staff_client, body)

    expected_text = (
        "[default]\naws_secret_access_key = [redacted]\n"
        "export AWS_SECRET_ACCESS_KEY=[redacted]\n"
        '{"SecretAccessKey": "[redacted]"}\nregion = eu-west-1'
    )
    expected_payload = {
        "aws_secret_access_key": "[redacted]",
        "credentials": {"secretAccessKey": "[redacted]"},
        "region": "eu-west-1",
    }
    assert row.message == answer["message"] == expected_text
    assert row.payload == answer["payload"] == expected_payload


def test_argument_vectors_card_numbers_and_long_keys_in_payloads(ingest_client):
    long_key = "x" * 195 + "_password"

    row = stored(
        ingest_client,
        payload={
            "argv": ["psql", "--password", "pw-in-argv", "-h", "db.internal"],
            "card": 4111111111111111,
            "order": 1234567890123,
            long_key: "pw-under-a-long-key",
            "x" * 200: "kept",
        },
    )

    assert row.payload == {
        "argv": ["psql", "--password", "[redacted]", "-h", "db.internal"],
        "card": "[redacted]",
        "order": 1234567890123,
        long_key: "[redacted]",
        "x" * 200: "kept",
    }


def test_card_numbers_sent_as_json_floats_are_redacted(ingest_client, staff_client):
    body = json.dumps(report(payload={"note": "PLACEHOLDER"})).replace(
        '"PLACEHOLDER"',
        '{"a": 4111111111111111.0, "b": 4.111111111111111e15,'
        ' "c": [378282246310005.0], "d": 5.500000000000004E+15,'
        ' "not_luhn": 4111111111111112.0, "amount": 12.5, "ratio": 0.25}',
    )

    row, answer = stored_and_served(ingest_client, staff_client, body)

    expected = {
        "note": {
            "a": "[redacted]",
            "b": "[redacted]",
            "c": ["[redacted]"],
            "d": "[redacted]",
            "not_luhn": 4111111111111112.0,
            "amount": 12.5,
            "ratio": 0.25,
        }
    }
    assert row.payload == expected
    assert answer["payload"] == expected


def test_context_fields_and_source_are_redacted_too(ingest_client):
    row = stored(
        ingest_client,
        source="svc token=abc123xyz",
        run_id="redis://:pw-ctx-9@cache:6379",
    )

    assert "abc123xyz" not in row.source
    assert row.run_id == "redis://:[redacted]@cache:6379"


def test_fingerprint_is_computed_after_redaction(ingest_client):
    first = post_json(
        ingest_client, report(message="connect postgres://app:OnePw1@db/app failed")
    ).json()
    second = post_json(
        ingest_client, report(message="connect postgres://app:TwoPw2@db/app failed")
    ).json()

    assert second["fingerprint"] == first["fingerprint"]
    assert second["id"] == first["id"]
    assert second["occurrences"] == 2


def test_extra_keys_and_patterns_come_from_settings(ingest_client, settings):
    body = report(
        message="patient MRN-0042-77 admitted",
        payload={"ssn": "123-45-6789", "tax_id": "DE-1", "taxonomy": "kept"},
    )
    before = stored(ingest_client, **body)

    settings.RUNTIME_ERRORS_REDACT_KEYS = ["ssn", "tax_id"]
    settings.RUNTIME_ERRORS_REDACT_PATTERNS = [r"MRN-\d{4}-\d{2}"]
    after = stored(ingest_client, **body)

    assert before.message == "patient MRN-0042-77 admitted"
    assert before.payload["ssn"] == "123-45-6789"
    assert after.message == "patient [redacted] admitted"
    assert after.payload == {
        "ssn": "[redacted]",
        "tax_id": "[redacted]",
        "taxonomy": "kept",
    }


def test_a_bad_extra_pattern_stops_the_checks(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    call_command("check")
    settings.RUNTIME_ERRORS_REDACT_PATTERNS = ["(unclosed"]

    with pytest.raises(SystemCheckError, match="runtime_errors.E001"):
        call_command("check")


def test_product_log_lines_are_redacted_by_the_configured_handler():
    from runtime_errors.redaction import RedactingFilter

    console = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(item, RedactingFilter) for item in handler.filters)
    )
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("runtime_errors.services").error(
            "could not reach %s", "postgres://app:leaky-pw-1@db/app"
        )
        try:
            raise ValueError("token=leaky-exc-2 rejected")
        except ValueError:
            logging.getLogger("runtime_errors").exception("failed")
        logging.getLogger("django.request").warning(
            "Forbidden: %s", "/x?access_token=leaky-query-3"
        )
    finally:
        console.setStream(previous)

    text = stream.getvalue()
    assert "could not reach postgres://app:[redacted]@db/app" in text
    assert "ValueError: token=[redacted] rejected" in text
    assert "Forbidden: /x?access_token=[redacted]" in text
    for leak in ("leaky-pw-1", "leaky-exc-2", "leaky-query-3"):
        assert leak not in text


def test_pass_as_a_word_marks_a_password_in_keys_and_text():
    from runtime_errors.redaction import redact_data, redact_text

    assert redact_text("export DB_PASS=hunter2x") == "export DB_PASS=[redacted]"
    assert redact_data({"db_pass": "hunter2x", "passenger": "Ada"}) == {
        "db_pass": "[redacted]",
        "passenger": "Ada",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "İstanbul job failed: DB_PASSWORD=hunter2 API_TOKEN=abc",
            "İstanbul job failed: DB_PASSWORD=[redacted] API_TOKEN=[redacted]",
        ),
        ("user İlker: Password=hunter2", "user İlker: Password=[redacted]"),
        (
            "İİİ Secret: 'x1' then token=t2",
            "İİİ Secret: '[redacted]' then token=[redacted]",
        ),
        ("İstanbul office: Author=Ilker", "İstanbul office: Author=Ilker"),
    ],
)
def test_a_dotted_capital_i_does_not_switch_off_key_redaction(
    ingest_client, text, expected
):
    row = stored(ingest_client, message=text, payload={"note": text})

    assert row.message == expected
    assert row.payload == {"note": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "smtp://alice@example.com:hunter2@smtp.example.com:587 refused",
            "smtp://alice@example.com:[redacted]@smtp.example.com:587 refused",
        ),
        (
            "clone https://bob@corp.com:S3cretPw@git.corp.com/r.git",
            "clone https://bob@corp.com:[redacted]@git.corp.com/r.git",
        ),
        (
            "smtp://alice@example.com@smtp.example.com:587 refused",
            "smtp://alice@example.com@smtp.example.com:587 refused",
        ),
        (
            "see https://corp.com/users?email=a@b.com:x@y",
            "see https://corp.com/users?email=a@b.com:x@y",
        ),
    ],
)
def test_a_url_password_is_found_after_a_user_name_holding_an_at_sign(
    ingest_client, text, expected
):
    row = stored(ingest_client, message=text, payload={"note": text})

    assert row.message == expected
    assert row.payload == {"note": expected}


def test_header_pair_names_match_in_any_case(ingest_client):
    row = stored(
        ingest_client,
        payload={
            "headers": [
                {"Key": "Authorization", "Value": "Bearer x"},
                {"Name": "Cookie", "Value": "a=b"},
                {"NAME": "X-Api-Key", "VALUE": "k-1"},
                {"Key": "Content-Type", "Value": "text/plain"},
                {"Name": "Host", "Value": "api.internal"},
            ]
        },
    )

    assert row.payload["headers"] == [
        {"Key": "Authorization", "Value": "[redacted]"},
        {"Name": "Cookie", "Value": "[redacted]"},
        {"NAME": "X-Api-Key", "VALUE": "[redacted]"},
        {"Key": "Content-Type", "Value": "text/plain"},
        {"Name": "Host", "Value": "api.internal"},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "curl -u admin:hunter2Secret https://api.internal/x",
            "curl -u admin:[redacted] https://api.internal/x",
        ),
        (
            "curl --user admin:hunter2Secret -X POST",
            "curl --user admin:[redacted] -X POST",
        ),
        ("curl --user='ops:pw-77' -s", "curl --user='ops:[redacted]' -s"),
        ("sort -u names.txt -o out:1", "sort -u names.txt -o out:1"),
        ("docker run -u 1000:1000 app", "docker run -u 1000:1000 app"),
        (
            "curl -u admin https://api.internal/x",
            "curl -u admin https://api.internal/x",
        ),
    ],
)
def test_curl_user_options_lose_their_password(ingest_client, text, expected):
    row = stored(ingest_client, message=text, payload={"note": text})

    assert row.message == expected
    assert row.payload == {"note": expected}


def test_curl_user_options_in_argument_vectors_lose_their_password(ingest_client):
    row = stored(
        ingest_client,
        payload={
            "argv": ["curl", "-u", "admin:hunter2", "https://api.internal"],
            "long": ["curl", "--user", "admin:hunter2"],
            "sort": ["sort", "-u", "names.txt"],
            "mixed": [["nested"], {"a": 1}, "-u", ["x:y"]],
            "docker": ["docker", "run", "--user", "1000:1000"],
            "token": ["-u", "1000:1000"],
        },
    )

    assert row.payload == {
        "argv": ["curl", "-u", "[redacted]", "https://api.internal"],
        "long": ["curl", "--user", "[redacted]"],
        "sort": ["sort", "-u", "names.txt"],
        "mixed": [["nested"], {"a": 1}, "-u", ["x:y"]],
        "docker": ["docker", "run", "--user", "1000:1000"],
        "token": ["[redacted]", "[redacted]"],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{b'password': b'hunter2'}", "{b'password': b'[redacted]'}"),
        (
            "{\\'password\\': \\'hunter2\\', \\'user\\': \\'bob\\'}",
            "{\\'password\\': \\'[redacted]\\', \\'user\\': \\'bob\\'}",
        ),
        (
            "headers=[(b'host', b'api.internal'), (b'x-api-key', b'abcd1234efgh')]",
            "headers=[(b'host', b'api.internal'), (b'x-api-key', b'[redacted]')]",
        ),
        (
            "[('Authorization', 'Bearer abc def'), ('Accept', '*/*')]",
            "[('Authorization', '[redacted]'), ('Accept', '*/*')]",
        ),
        ("{b'user': b'bob', b'mode': b'ro'}", "{b'user': b'bob', b'mode': b'ro'}"),
        ("('token', 5) and ('key', 'k')", "('token', 5) and ('key', 'k')"),
    ],
)
def test_bytes_reprs_and_escaped_single_quotes_hide_the_whole_value(
    ingest_client, text, expected
):
    row = stored(ingest_client, message=text, payload={"note": text})

    assert row.message == expected
    assert row.payload == {"note": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "<login><user>bob</user><password>hunter2</password></login>",
            "<login><user>bob</user><password>[redacted]</password></login>",
        ),
        (
            "<config><apiKey>k-9f8e7d6c</apiKey><region>eu</region></config>",
            "<config><apiKey>[redacted]</apiKey><region>eu</region></config>",
        ),
        ("fault <password>cut short", "fault <password>[redacted]"),
        (
            "<author>Jane</author><keyboard>us</keyboard><password></password>",
            "<author>Jane</author><keyboard>us</keyboard><password></password>",
        ),
    ],
)
def test_xml_elements_named_by_a_sensitive_key_lose_their_text(
    ingest_client, text, expected
):
    row = stored(ingest_client, message=text, payload={"note": text})

    assert row.message == expected
    assert row.payload == {"note": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config: api key = abc123def", "config: api key = [redacted]"),
        ("API Key: abc123def, region: eu", "API Key: [redacted], region: eu"),
        (
            "Ocp-Apim-Subscription-Key: 0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "Ocp-Apim-Subscription-Key: [redacted]",
        ),
        ("sort key = created_at", "sort key = created_at"),
        ("the key: region, subscription: gold", "the key: region, subscription: gold"),
    ],
)
def test_keys_of_two_words_apart_and_subscription_keys_are_redacted(
    ingest_client, text, expected
):
    row = stored(
        ingest_client,
        message=text,
        payload={"note": text, "subscription_key": "k-2", "subscription": "gold"},
    )

    assert row.message == expected
    assert row.payload == {
        "note": expected,
        "subscription_key": "[redacted]",
        "subscription": "gold",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "card=4111111111111111 cvv=123 exp=12/29",
            "card=[redacted] cvv=[redacted] exp=12/29",
        ),
        ("CVV2: 987, card_cvc=456", "CVV2: [redacted], card_cvc=[redacted]"),
        ("sim pin=1234 otp: 665544", "sim pin=[redacted] otp: [redacted]"),
        ("spinner=on pinned=3 opinion: fine", "spinner=on pinned=3 opinion: fine"),
    ],
)
def test_card_codes_pins_and_one_time_passwords_are_redacted(
    ingest_client, text, expected
):
    row = stored(
        ingest_client,
        message=text,
        payload={"note": text, "cvv": "123", "userPin": "0000", "spinner": "on"},
    )

    assert row.message == expected
    assert row.payload == {
        "note": expected,
        "cvv": "[redacted]",
        "userPin": "[redacted]",
        "spinner": "on",
    }


def readme_list(pattern):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### Redaction") :]
    listed = re.search(pattern, " ".join(section.split())).group(1)
    items = re.split(r", | or ", listed)
    return {
        variant
        for item in items
        for variant in (
            [item.removesuffix("(s)"), item.removesuffix("(s)") + "s"]
            if item.endswith("(s)")
            else [item]
        )
    }


def test_the_readme_lists_exactly_the_key_words_in_force():
    from runtime_errors.redaction import (
        SENSITIVE_ENDINGS,
        SENSITIVE_PAIRS,
        SENSITIVE_WORDS,
    )

    assert readme_list(r"word is one of (.+?) \(so ") == SENSITIVE_WORDS
    assert readme_list(r"word ends in (.+?) \(`authtoken`\)") == set(SENSITIVE_ENDINGS)
    assert readme_list(r"two words together are (.+?) \(in text") == {
        " ".join(pair) for pair in SENSITIVE_PAIRS
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "connection_string: AccountName=a;Key=Zm9vYmFy rejected",
            "connection_string: [redacted] rejected",
        ),
        ("conn_str=Server=db;Pw=pw1", "conn_str=[redacted]"),
        ("ConnectionString='Server=db;Uid=app'", "ConnectionString='[redacted]'"),
        (
            "connection refused: host=db;port=5432",
            "connection refused: host=db;port=5432",
        ),
        ("connections=12;connect_timeout=5", "connections=12;connect_timeout=5"),
    ],
)
def test_connection_strings_under_their_keys_are_hidden_in_text(
    ingest_client, text, expected
):
    row = stored(ingest_client, message=text, payload={"note": text})

    assert row.message == expected
    assert row.payload == {"note": expected}
