"""The staff API reads its parameters the way services write dates and levels."""

import pytest

from .conftest import STAFF_URL, post_json, report

pytestmark = pytest.mark.django_db


def test_date_bounds_take_lower_case_t_and_z_as_ingest_does(
    ingest_client, staff_client
):
    error_id = post_json(ingest_client, report()).json()["id"]

    lower = staff_client.get(STAFF_URL, {"since": "2000-01-01t00:00:00z"})
    upper = staff_client.get(STAFF_URL, {"since": "2000-01-01T00:00:00Z"})
    future = staff_client.get(STAFF_URL, {"since": "2999-01-01t00:00:00z"})

    assert lower.status_code == 200
    assert [error["id"] for error in lower.json()["results"]] == [error_id]
    assert lower.json() == upper.json()
    assert future.json()["results"] == []


def test_an_empty_level_is_no_filter_like_every_other_empty_parameter(
    ingest_client, staff_client
):
    post_json(ingest_client, report(level="error"))
    post_json(ingest_client, report(level="warning", message="other"))

    empty = staff_client.get(f"{STAFF_URL}?level=&source=")
    chosen = staff_client.get(f"{STAFF_URL}?level=&level=warning")

    assert empty.status_code == 200
    assert empty.json()["count"] == 2
    assert [error["level"] for error in chosen.json()["results"]] == ["warning"]


@pytest.mark.parametrize(
    "query",
    [
        "page_size=%D9%A1",
        "page_size=%EF%BC%92%EF%BC%90%EF%BC%90",
        "page=%D9%A1",
        "page_size=%205",
    ],
)
def test_page_numbers_are_ascii_digits_only(ingest_client, staff_client, query):
    post_json(ingest_client, report())

    refused = staff_client.get(f"{STAFF_URL}?{query}")
    control = staff_client.get(f"{STAFF_URL}?page=1&page_size=5")

    assert refused.status_code == 400
    assert query.split("=")[0] in refused.json()
    assert control.status_code == 200


def test_an_unknown_id_is_a_404_that_names_no_model(staff_client):
    missing = staff_client.get(f"{STAFF_URL}123456/")
    missing_viewed = staff_client.post(f"{STAFF_URL}123456/viewed/")
    feed = staff_client.get(f"{STAFF_URL}feed/")

    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}
    assert missing_viewed.json() == {"detail": "Not found."}
    assert feed.status_code == 200
