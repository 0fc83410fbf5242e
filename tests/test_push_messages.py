"""Push messages: one per kind and request, sent only once the data commits."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connections, transaction

from runtime_errors import services
from runtime_errors.models import RuntimeError
from runtime_errors.reports import parse_reports

from .conftest import post_json, report, staff_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Close the connections that code run from sync_to_async opened."""
    yield
    await sync_to_async(connections.close_all)()


def kind(name):
    return report(message=f"failure kind {name}")


def ids_of(records):
    return [record["id"] for record in records]


async def test_a_batch_of_new_errors_and_repeats_pushes_one_message_per_kind(
    ingest_client, staff_user
):
    socket = await staff_socket(staff_user)
    old = await sync_to_async(post_json)(ingest_client, [kind(n) for n in "abc"])
    old_ids = [result["id"] for result in old.json()["results"]]
    first = await socket.receive_json_from()

    # The repeated errors have never been updated, so the rate limit has a
    # free slot for each of them and holds no update back.
    batch = [kind("a"), kind("b"), kind("x"), kind("y"), kind("z")]
    response = await sync_to_async(post_json)(ingest_client, batch)
    created = await socket.receive_json_from()
    updated = await socket.receive_json_from()
    nothing_more = await socket.receive_nothing(timeout=1)
    await socket.disconnect()

    results = response.json()["results"]
    assert [result["created"] for result in results] == [False] * 2 + [True] * 3
    repeated = sorted(old_ids[:2])
    new_ids = sorted(result["id"] for result in results[2:])
    # The batch's rows share one last_seen_at, so the id orders them.
    newest_five = sorted(new_ids + repeated, reverse=True)
    assert first["type"] == "runtime_error.created"
    assert sorted(first["ids"]) == sorted(old_ids)
    assert created["type"] == "runtime_error.created"
    assert sorted(created["ids"]) == new_ids
    assert created["error"]["id"] == max(new_ids)
    assert created["active_count"] == 6
    assert ids_of(created["stack"]) == newest_five
    assert updated["type"] == "runtime_error.updated"
    assert sorted(updated["ids"]) == repeated
    assert updated["error"]["id"] == max(repeated)
    assert updated["error"]["occurrences"] == 2
    assert updated["active_count"] == 6
    assert ids_of(updated["stack"]) == newest_five
    assert nothing_more


class AbortedWork(Exception):
    pass


def ingest_in_a_transaction(body, *, roll_back):
    with transaction.atomic():
        results = services.ingest_reports(reports=parse_reports(body))
        if roll_back:
            raise AbortedWork
    return results


async def test_an_ingest_whose_transaction_rolls_back_pushes_nothing(staff_user):
    socket = await staff_socket(staff_user)

    with pytest.raises(AbortedWork):
        await sync_to_async(ingest_in_a_transaction)(
            report(message="rolled back"), roll_back=True
        )
    (kept,) = await sync_to_async(ingest_in_a_transaction)(
        report(message="committed"), roll_back=False
    )
    # Pushes go out in commit order, so a push of the rolled-back report
    # would arrive before this one.
    pushed = await socket.receive_json_from()
    await socket.disconnect()

    assert [row.message async for row in RuntimeError.objects.all()] == ["committed"]
    assert pushed["type"] == "runtime_error.created"
    assert pushed["ids"] == [kept.id]
    assert pushed["error"]["message"] == "committed"
    assert pushed["active_count"] == 1
    assert ids_of(pushed["stack"]) == [kept.id]
