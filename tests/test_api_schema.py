"""The OpenAPI schema, its offline page, and generated requests against it."""

import collections
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import INGEST_URL, STAFF_URL, session_cookie

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/schema/?format=json"
DOCS_URL = "/api/schema/docs/"
CSRF_TOKEN = "a" * 32


@pytest.fixture
def schema(client):
    response = client.get(SCHEMA_URL)
    assert response.status_code == 200
    return response.json()


def test_schema_declares_api_key_and_session_security(schema):
    schemes = schema["components"]["securitySchemes"]
    ingest = schema["paths"][INGEST_URL]["post"]
    staff = schema["paths"][STAFF_URL]["get"]

    assert schemes["ingestKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "An ingest key, sent as `Authorization: Api-Key <key>`.",
    }
    assert schemes["cookieAuth"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
    }
    assert ingest["security"] == [{"ingestKey": []}]
    assert staff["security"] == [{"cookieAuth": []}]


def test_schema_takes_one_report_or_a_bounded_array_of_them(schema):
    body = schema["paths"][INGEST_URL]["post"]["requestBody"]["content"]
    choices = schema["components"]["schemas"]["IngestBody"]["oneOf"]

    assert schema["paths"][INGEST_URL]["post"]["requestBody"]["required"] is True
    assert body["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IngestBody"
    }
    assert choices == [
        {"$ref": "#/components/schemas/IngestReport"},
        {
            "type": "array",
            "items": {"$ref": "#/components/schemas/IngestReport"},
            "minItems": 1,
            "maxItems": 1000,
        },
    ]
    report = schema["components"]["schemas"]["IngestReport"]
    assert set(report["required"]) == {"level", "source", "message"}


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        (INGEST_URL, "post", {"201", "400", "401", "403", "413", "415", "429", "503"}),
        (STAFF_URL, "get", {"200", "400", "403", "503"}),
        (STAFF_URL + "{id}/", "get", {"200", "403", "404", "503"}),
        (
            STAFF_URL + "{id}/viewed/",
            "post",
            {"200", "400", "403", "404", "415", "503"},
        ),
        (STAFF_URL + "viewed/", "post", {"200", "400", "403", "415", "503"}),
        (STAFF_URL + "feed/", "get", {"200", "403", "503"}),
    ],
)
def test_schema_declares_every_documented_status(schema, path, method, statuses):
    assert set(schema["paths"][path][method]["responses"]) == statuses


def test_docs_page_works_offline_under_the_content_security_policy(client):
    page = client.get(DOCS_URL)
    html = page.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    start_up = client.get(scripts[-1].replace("&amp;", "&"))

    assert page.status_code == 200
    assert "<script>" not in html and "<style>" not in html
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert len(scripts) == 3 and len(styles) == 1
    for asset in scripts[:2] + styles:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert start_up.status_code == 200
    assert start_up["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in start_up.content.decode()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


# Generated requests, with valid credentials, against the schema's promises.

EXAMPLES_PER_OPERATION = {
    "POST /api/v1/ingest/runtime-errors/": 170,
    "GET /api/v1/staff/runtime-errors/": 80,
    "GET /api/v1/staff/runtime-errors/{id}/": 20,
    "POST /api/v1/staff/runtime-errors/{id}/viewed/": 20,
    "POST /api/v1/staff/runtime-errors/viewed/": 30,
    "GET /api/v1/staff/runtime-errors/feed/": 5,
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def run_generated(operation, examples, credentials, statuses, mode):
    """Send the generated cases of one operation and check every answer."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(**credentials)
        case.validate_response(response, checks=CHECKS)
        statuses[response.status_code] += 1

    run()


# A plain WSGI application closes its connection after every request, which
# only a transactional test allows.
@pytest.mark.django_db(transaction=True)
def test_generated_requests_find_no_5xx_and_no_answer_outside_the_schema(
    ingest_key, staff_user
):
    statuses = generated_statuses(
        ingest_key, staff_user, EXAMPLES_PER_OPERATION, GenerationMode.POSITIVE
    )

    ingest = statuses["POST /api/v1/ingest/runtime-errors/"]
    total = sum(sum(counter.values()) for counter in statuses.values())
    accepted = f"{ingest[201]} of {sum(ingest.values())} ingest cases accepted"
    print(f"\n{total} generated cases, {accepted}")
    assert set(statuses) == set(EXAMPLES_PER_OPERATION)
    assert total >= 300, dict(statuses)
    assert ingest[201] / sum(ingest.values()) >= 0.25, dict(ingest)
    assert all(code < 500 for counter in statuses.values() for code in counter)


# Requests that break the schema on purpose: wrong types, missing fields,
# bad headers. They must be refused with a documented status, never a 5xx.
MALFORMED_PER_OPERATION = {
    "POST /api/v1/ingest/runtime-errors/": 60,
    "GET /api/v1/staff/runtime-errors/": 40,
    "POST /api/v1/staff/runtime-errors/viewed/": 30,
    "GET /api/v1/staff/runtime-errors/{id}/": 10,
}


@pytest.mark.django_db(transaction=True)
def test_malformed_generated_requests_are_refused_within_the_schema(
    ingest_key, staff_user
):
    statuses = generated_statuses(
        ingest_key, staff_user, MALFORMED_PER_OPERATION, GenerationMode.NEGATIVE
    )

    ingest = statuses["POST /api/v1/ingest/runtime-errors/"]
    print(f"\n{sum(ingest.values())} malformed ingest cases: {dict(ingest)}")
    assert set(statuses) == set(MALFORMED_PER_OPERATION)
    assert ingest[201] == 0, dict(ingest)
    assert all(code < 500 for counter in statuses.values() for code in counter)


def generated_statuses(ingest_key, staff_user, examples, mode):
    """Run generated cases per operation; return their statuses by operation."""
    api = schemathesis.openapi.from_wsgi(SCHEMA_URL, get_wsgi_application())
    credentials = {
        "headers": {
            "Authorization": f"Api-Key {ingest_key}",
            "X-CSRFToken": CSRF_TOKEN,
        },
        "cookies": {"sessionid": session_cookie(staff_user), "csrftoken": CSRF_TOKEN},
    }
    statuses = collections.defaultdict(collections.Counter)

    for result in api.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in examples:
            count = examples[label]
            run_generated(operation, count, credentials, statuses[label], mode)
    return statuses
