"""Staff filters: a bad value is a 400 naming it; dates are read in UTC."""

import datetime as dt

import pytest

from runtime_errors.models import RuntimeError

from .conftest import STAFF_URL, post_json, report

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_errors(ingest_client):
    ids = [
        post_json(ingest_client, report(source=source, level=level)).json()["id"]
        for source, level in (("api", "error"), ("worker", "warning"))
    ]
    return ids


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=maybe", "status"),
        ("level=LOUD", "level"),
        ("level=error&level=LOUD", "level"),
        ("since=yesterday", "since"),
        ("until=2024-13-45", "until"),
        ("since=2024-05-01T10:00:00%00", "since"),
        ("ordering=password", "ordering"),
        ("ordering=-level,secret", "ordering"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=99", "page"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("page_size=ten", "page_size"),
    ],
)
def test_bad_value_of_a_known_parameter_is_a_400_naming_it(
    staff_client, two_errors, query, parameter
):
    refused = staff_client.get(f"{STAFF_URL}?{query}")
    listed = staff_client.get(STAFF_URL)

    assert refused.status_code == 400
    assert list(refused.json()) == [parameter]
    assert listed.status_code == 200
    assert listed.json()["count"] == 2


@pytest.mark.parametrize(
    ("query", "sources"),
    [
        ("level=warning", ["worker"]),
        ("level=error&level=warning&ordering=level", ["worker", "api"]),
        ("ordering=-level", ["api", "worker"]),
        ("source=api", ["api"]),
        ("page_size=1&page=2&ordering=level", ["api"]),
        ("unknown=whatever", ["worker", "api"]),
    ],
)
def test_good_values_filter_order_and_page(staff_client, two_errors, query, sources):
    response = staff_client.get(f"{STAFF_URL}?{query}")

    assert response.status_code == 200
    assert [error["source"] for error in response.json()["results"]] == sources


def test_nul_in_filter_parameters_follows_the_ingest_rule(
    staff_client, admin_client, ingest_client
):
    post_json(ingest_client, report(source="bad\x00name"))
    post_json(ingest_client, report(source="other"))

    by_source = staff_client.get(f"{STAFF_URL}?source=bad%00name")
    by_text = staff_client.get(f"{STAFF_URL}?q=%00")
    dashboard = staff_client.get("/staff/?source=bad%00name")
    admin = admin_client.get("/admin/runtime_errors/runtimeerror/?q=%00")

    assert by_source.status_code == 200
    assert [e["source"] for e in by_source.json()["results"]] == ["bad\ufffdname"]
    assert by_text.status_code == 200
    assert by_text.json()["count"] == 0
    assert dashboard.status_code == 200
    assert admin.status_code == 200


def test_date_bounds_are_read_in_utc_since_inclusive_until_exclusive(
    staff_client, ingest_client, settings
):
    settings.TIME_ZONE = "America/New_York"
    moments = {
        "early": dt.datetime(2024, 5, 1, 9, 59, 59, tzinfo=dt.UTC),
        "on-the-hour": dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
        "late": dt.datetime(2024, 5, 1, 11, tzinfo=dt.UTC),
    }
    for source, moment in moments.items():
        error_id = post_json(ingest_client, report(source=source)).json()["id"]
        RuntimeError.objects.filter(pk=error_id).update(last_seen_at=moment)

    def sources(query):
        response = staff_client.get(f"{STAFF_URL}?{query}&ordering=last_seen_at")
        assert response.status_code == 200
        return [error["source"] for error in response.json()["results"]]

    assert sources("since=2024-05-01T10:00:00") == ["on-the-hour", "late"]
    assert sources("until=2024-05-01T10:00:00") == ["early"]
    assert sources("since=2024-05-01T06:00:00-04:00") == ["on-the-hour", "late"]
    assert sources("since=2024-05-01T10:00:00Z&until=2024-05-01T11:00:00Z") == [
        "on-the-hour"
    ]
