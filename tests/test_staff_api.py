"""The staff API's viewed actions and who may use the staff API at all."""

import json

import pytest
from rest_framework.test import APIClient

from runtime_errors.models import RuntimeError

from .conftest import FEED_URL, STAFF_URL, post_json, report

pytestmark = pytest.mark.django_db

BULK_URL = f"{STAFF_URL}viewed/"


def post_ids(client, body):
    return client.post(BULK_URL, data=json.dumps(body), content_type="application/json")


def ingest(client, *names):
    bodies = [report(message=f"failure kind {name}") for name in names]
    return [post_json(client, body).json()["id"] for body in bodies]


def active_ids():
    return set(
        RuntimeError.objects.filter(viewed_at__isnull=True).values_list("id", flat=True)
    )


def test_bulk_viewed_answers_which_ids_it_marked_found_viewed_or_did_not_find(
    ingest_client, staff_client, django_user_model
):
    first, seen, second = ingest(ingest_client, "a", "b", "c")
    earlier = django_user_model.objects.create_user(username="early", is_staff=True)
    other = APIClient()
    other.force_login(earlier)
    post_ids(other, {"ids": [seen]})
    unknown = second + 1000

    response = post_ids(staff_client, {"ids": [first, seen, unknown, second, first]})

    assert response.status_code == 200
    assert response.json() == {
        "viewed": [first, second],
        "already_viewed": [seen],
        "not_found": [unknown],
    }
    rows = {row.id: row for row in RuntimeError.objects.select_related("viewed_by")}
    assert rows[first].viewed_by.username == "oncall"
    assert rows[second].viewed_by.username == "oncall"
    assert rows[seen].viewed_by.username == "early"
    assert active_ids() == set()


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("{}", "ids"),
        ('{"ids": []}', "ids"),
        ('{"ids": null}', "ids"),
        ('{"ids": 7}', "ids"),
        ('{"ids": ["x"]}', "ids"),
        ('{"ids": [0]}', "ids"),
        ('{"ids": [-3]}', "ids"),
        ('{"ids": [1.5]}', "ids"),
        ('{"ids": [true]}', "ids"),
        ('{"ids": [9223372036854775808]}', "ids"),
        (json.dumps({"ids": list(range(1, 1002))}), "ids"),
        ("[1, 2]", "non_field_errors"),
        ("ids=1", "detail"),
        ('{"ids": [1', "detail"),
    ],
)
def test_bad_bulk_viewed_body_is_a_400_naming_ids_and_marks_nothing(
    ingest_client, staff_client, raw, named
):
    (error_id,) = ingest(ingest_client, "a")

    refused = staff_client.post(BULK_URL, data=raw, content_type="application/json")
    still_active = active_ids()
    accepted = post_ids(staff_client, {"ids": [error_id]})

    assert refused.status_code == 400
    assert list(refused.json()) == [named]
    assert still_active == {error_id}
    assert accepted.status_code == 200
    assert accepted.json()["viewed"] == [error_id]


def test_bulk_viewed_takes_up_to_1000_ids(ingest_client, staff_client):
    (error_id,) = ingest(ingest_client, "a")
    unknown = list(range(error_id + 1, error_id + 1000))

    response = post_ids(staff_client, {"ids": [error_id, *unknown]})

    assert response.status_code == 200
    assert response.json() == {
        "viewed": [error_id],
        "already_viewed": [],
        "not_found": unknown,
    }


def staff_endpoints(error_id):
    return [
        ("get", STAFF_URL, None),
        ("get", f"{STAFF_URL}{error_id}/", None),
        ("get", FEED_URL, None),
        ("post", f"{STAFF_URL}{error_id}/viewed/", None),
        ("post", BULK_URL, {"ids": [error_id]}),
    ]


def call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("who", ["anonymous", "not staff", "inactive staff"])
def test_everyone_but_staff_gets_403_from_every_staff_endpoint(
    ingest_client, staff_user, django_user_model, who
):
    (error_id,) = ingest(ingest_client, "a")
    refused_client = APIClient()
    if who == "not staff":
        refused_client.force_login(
            django_user_model.objects.create_user(username="viewer01")
        )
    elif who == "inactive staff":
        former = django_user_model.objects.create_user(username="former", is_staff=True)
        refused_client.force_login(former)
        former.is_active = False
        former.save()
    staff = APIClient()
    staff.force_login(staff_user)

    refused = [call(refused_client, *e) for e in staff_endpoints(error_id)]
    still_active = active_ids()
    accepted = [call(staff, *e) for e in staff_endpoints(error_id)]

    assert [response.status_code for response in refused] == [403] * 5
    assert all("results" not in response.json() for response in refused)
    assert still_active == {error_id}
    assert [response.status_code for response in accepted] == [200] * 5


def test_staff_session_needs_the_csrf_token_to_mark_viewed(ingest_client, staff_user):
    (error_id,) = ingest(ingest_client, "a")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    token = "a" * 32
    client.cookies["csrftoken"] = token

    without = client.post(f"{STAFF_URL}{error_id}/viewed/")
    still_active = active_ids()
    with_token = client.post(f"{STAFF_URL}{error_id}/viewed/", HTTP_X_CSRFTOKEN=token)

    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]
    assert still_active == {error_id}
    assert with_token.status_code == 200
    assert with_token.json()["viewed_by"]["username"] == "oncall"
