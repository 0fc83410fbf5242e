"""A report travels from a service to the staff alert stack and back."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from runtime_errors.models import RuntimeError

from .conftest import (
    FEED_URL,
    INGEST_URL,
    STAFF_URL,
    post_json,
    report,
    session_cookie,
    socket_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Close the connections that requests made from sync_to_async opened."""
    yield
    await sync_to_async(connections.close_all)()


def test_report_with_key_answers_201_and_stands_first_in_the_feed(
    ingest_client, staff_client
):
    post_json(ingest_client, report(source="older", message="older one"))

    response = post_json(ingest_client, report(run_id="run-1"))

    assert response.status_code == 201
    answer = response.json()
    assert set(answer) == {"id", "fingerprint", "occurrences", "created"}
    assert answer["created"] is True
    assert answer["occurrences"] == 1
    assert len(answer["fingerprint"]) == 64
    feed = staff_client.get(FEED_URL).json()
    assert feed["results"][0]["id"] == answer["id"]
    assert feed["active_count"] == 2


async def test_staff_socket_sees_created_then_updated_with_newest_run(
    ingest_client, staff_user
):
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    connected, _ = await socket.connect()
    assert connected
    snapshot = await socket.receive_json_from()
    assert snapshot["type"] == "snapshot"
    assert snapshot["stack"] == []

    first = await sync_to_async(post_json)(ingest_client, report(run_id="run-1"))
    created = await socket.receive_json_from()
    second = await sync_to_async(post_json)(ingest_client, report(run_id="run-2"))
    updated = await socket.receive_json_from()
    await socket.disconnect()

    assert first.json()["created"] is True
    assert created["type"] == "runtime_error.created"
    assert created["error"]["id"] == first.json()["id"]
    assert created["active_count"] == 1
    assert [error["id"] for error in created["stack"]] == [first.json()["id"]]
    assert second.status_code == 201
    assert second.json()["created"] is False
    assert second.json()["occurrences"] == 2
    assert second.json()["id"] == first.json()["id"]
    assert updated["type"] == "runtime_error.updated"
    assert updated["error"]["occurrences"] == 2
    assert updated["error"]["run_id"] == "run-2"
    row = await RuntimeError.objects.aget(pk=first.json()["id"])
    assert row.run_id == "run-2"


async def test_marking_viewed_pushes_and_a_repeat_opens_a_new_row(
    ingest_client, staff_client, staff_user
):
    first = (await sync_to_async(post_json)(ingest_client, report())).json()
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    snapshot = await socket.receive_json_from()
    assert [error["id"] for error in snapshot["stack"]] == [first["id"]]

    viewed_url = f"{STAFF_URL}{first['id']}/viewed/"
    response = await sync_to_async(staff_client.post)(viewed_url)
    pushed = await socket.receive_json_from()
    await socket.disconnect()

    assert response.status_code == 200
    assert response.json()["viewed_by"]["username"] == "oncall"
    assert pushed["type"] == "runtime_error.viewed"
    assert pushed["ids"] == [first["id"]]
    assert pushed["stack"] == []
    assert pushed["active_count"] == 0
    feed = (await sync_to_async(staff_client.get)(FEED_URL)).json()
    assert feed == {"active_count": 0, "results": []}

    again = (await sync_to_async(post_json)(ingest_client, report())).json()
    assert again["created"] is True
    assert again["id"] != first["id"]
    assert again["fingerprint"] == first["fingerprint"]


def test_second_viewer_does_not_replace_the_first(
    ingest_client, staff_client, django_user_model
):
    error_id = post_json(ingest_client, report()).json()["id"]
    staff_client.post(f"{STAFF_URL}{error_id}/viewed/")
    first_view = RuntimeError.objects.get(pk=error_id)
    other = django_user_model.objects.create_user(username="second", is_staff=True)
    staff_client.force_login(other)

    response = staff_client.post(f"{STAFF_URL}{error_id}/viewed/")

    assert response.status_code == 200
    assert response.json()["viewed_by"]["username"] == "oncall"
    again = RuntimeError.objects.get(pk=error_id)
    assert again.viewed_at == first_view.viewed_at
    assert again.viewed_by.username == "oncall"


def test_feed_holds_the_five_newest_of_seven_active_errors(ingest_client, staff_client):
    ids = [
        post_json(ingest_client, report(message=f"failure kind {kind}")).json()["id"]
        for kind in "abcdefg"
    ]

    feed = staff_client.get(FEED_URL).json()

    assert feed["active_count"] == 7
    assert [error["id"] for error in feed["results"]] == ids[::-1][:5]


async def test_secrets_are_stored_served_and_pushed_redacted(
    ingest_client, staff_client, staff_user
):
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    await socket.receive_json_from()
    body = report(
        message=(
            "connect failed: postgres://app:Sup3rS3cret@db.internal:5432/app "
            "with Authorization: Bearer abcdef0123456789tokenvalue"
        ),
        payload={"config": {"database": {"password": "hunter2-nested"}}},
    )

    answer = (await sync_to_async(post_json)(ingest_client, body)).json()
    pushed = await socket.receive_json_from()
    await socket.disconnect()
    served = await sync_to_async(staff_client.get)(f"{STAFF_URL}{answer['id']}/")
    row = await RuntimeError.objects.aget(pk=answer["id"])

    secrets = ("Sup3rS3cret", "abcdef0123456789tokenvalue", "hunter2-nested")
    for text in (
        str(row.message) + str(row.payload),
        served.content.decode(),
        str(pushed),
    ):
        for secret in secrets:
            assert secret not in text
    assert "postgres://app:[redacted]@db.internal:5432/app" in row.message
    assert row.payload == {"config": {"database": {"password": "[redacted]"}}}


@pytest.mark.parametrize(
    "token",
    [
        "3f9aKq7ZpL2mX8vB0nR4tY6wQe1Hs5Uj",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqb2IifQ.c2lnbmF0dXJlLXZhbHVlLTQy",
    ],
)
async def test_a_bare_bearer_token_in_the_message_is_redacted_everywhere(
    ingest_client, staff_client, staff_user, token
):
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    await socket.receive_json_from()
    body = report(message=f"retry with Bearer {token} got 401 from billing")

    answer = (await sync_to_async(post_json)(ingest_client, body)).json()
    pushed = await socket.receive_json_from()
    await socket.disconnect()
    listed = await sync_to_async(staff_client.get)(STAFF_URL)
    served = await sync_to_async(staff_client.get)(f"{STAFF_URL}{answer['id']}/")
    row = await RuntimeError.objects.aget(pk=answer["id"])

    assert row.message == "retry with Bearer [redacted] got 401 from billing"
    assert listed.json()["results"][0]["message"] == row.message
    assert served.json()["message"] == row.message
    assert pushed["error"]["message"] == row.message
    for text in (listed.content.decode(), served.content.decode(), str(pushed)):
        assert token not in text
        assert token[:12] not in text


def test_nul_bytes_in_message_and_payload_are_stored(ingest_client):
    body = report(message="bad\x00byte", payload={"k\x00ey": "va\x00lue"})

    response = post_json(ingest_client, body)

    assert response.status_code == 201
    row = RuntimeError.objects.get(pk=response.json()["id"])
    assert row.message == "bad\ufffdbyte"
    assert row.payload == {"k\ufffdey": "va\ufffdlue"}


def test_unknown_level_is_a_400_naming_level(ingest_client):
    response = post_json(ingest_client, report(level="LOUD"))
    accepted = post_json(ingest_client, report(level="WARN"))

    assert response.status_code == 400
    assert "level" in response.json()
    assert RuntimeError.objects.count() == 1
    assert accepted.status_code == 201


def test_request_without_a_valid_key_is_refused(client, ingest_key):
    missing = client.post(INGEST_URL, data=report(), content_type="application/json")
    wrong = client.post(
        INGEST_URL,
        data=report(),
        content_type="application/json",
        HTTP_AUTHORIZATION="Api-Key not.a-real-key",
    )
    accepted = client.post(
        INGEST_URL,
        data=report(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {ingest_key}",
    )

    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == "Api-Key"
    assert wrong.status_code == 401
    assert accepted.status_code == 201
    assert RuntimeError.objects.count() == 1


def test_non_staff_user_gets_403_from_the_staff_api(client, plain_user, staff_user):
    client.force_login(plain_user)
    refused = client.get(STAFF_URL)
    client.force_login(staff_user)
    accepted = client.get(STAFF_URL)

    assert refused.status_code == 403
    assert accepted.status_code == 200


async def test_socket_refuses_non_staff_and_accepts_staff_with_same_origin(
    plain_user, staff_user
):
    refused = socket_for(await sync_to_async(session_cookie)(plain_user))
    anonymous = socket_for()
    accepted = socket_for(await sync_to_async(session_cookie)(staff_user))

    refused_ok, refused_code = await refused.connect()
    anonymous_ok, _ = await anonymous.connect()
    accepted_ok, _ = await accepted.connect()

    assert not refused_ok
    assert refused_code == 4403
    assert not anonymous_ok
    assert accepted_ok
    assert (await accepted.receive_json_from())["type"] == "snapshot"
    await accepted.disconnect()


async def test_socket_refuses_staff_from_a_foreign_origin(staff_user):
    cookie = await sync_to_async(session_cookie)(staff_user)
    foreign = socket_for(cookie, origin=b"http://evil.example")
    same = socket_for(cookie)

    foreign_ok, _ = await foreign.connect()
    same_ok, _ = await same.connect()

    assert not foreign_ok
    assert same_ok
    await same.disconnect()
