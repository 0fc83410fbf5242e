"""Superusers manage errors and ingest keys in Django admin."""

import html
import re

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from runtime_errors.models import IngestKey, RuntimeError

from .conftest import STAFF_URL, post_json, report, session_cookie, socket_for

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/runtime_errors/runtimeerror/"


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser(username="root", password="x")
    client.force_login(user)
    return client


def test_changelist_filters_by_level_source_and_viewed(superuser_client, ingest_client):
    post_json(ingest_client, report(source="billing", level="critical"))
    post_json(ingest_client, report(source="search", level="warning"))

    by_level = superuser_client.get(CHANGELIST, {"level__exact": "critical"})
    by_source = superuser_client.get(CHANGELIST, {"source__exact": "search"})
    active = superuser_client.get(CHANGELIST, {"viewed": "no"})
    viewed = superuser_client.get(CHANGELIST, {"viewed": "yes"})
    searched = superuser_client.get(CHANGELIST, {"q": "invoice"})

    assert by_level.status_code == 200
    assert by_level.context["cl"].result_count == 1
    assert by_source.context["cl"].result_count == 1
    assert active.context["cl"].result_count == 2
    assert viewed.context["cl"].result_count == 0
    assert searched.context["cl"].result_count == 2


def test_every_link_the_changelist_offers_answers(superuser_client, ingest_client):
    post_json(ingest_client, report(source="billing", level="critical"))
    post_json(ingest_client, report(source="search", level="warning"))
    answers, links = {}, changelist_links(superuser_client.get(CHANGELIST))

    # Two clicks deep: a filter, then the links of the filtered page, which
    # combine filters, facets, ordering and the date drill-down.
    for depth in range(2):
        for link in sorted(links - answers.keys()):
            page = superuser_client.get(CHANGELIST + link)
            answers[link] = page.status_code
            if depth == 0 and page.status_code == 200:
                links = links | changelist_links(page)

    assert any("source=search" in link for link in answers)
    assert any("level__exact=critical" in link for link in answers)
    assert any("_facets" in link and "last_seen_at__year" in link for link in answers)
    assert {link: code for link, code in answers.items() if code != 200} == {}


def changelist_links(page):
    found = re.findall(r'href="(\?[^"]*)"', page.content.decode())
    return {html.unescape(link) for link in found}


@pytest.mark.parametrize(
    "lookup",
    [
        {"payload__password__contains": "x"},
        {"source__regex": "("},
        {"message__startswith": "invoice"},
    ],
)
def test_changelist_refuses_lookups_its_filters_do_not_offer(
    superuser_client, ingest_client, lookup
):
    post_json(ingest_client, report(source="billing"))

    refused = superuser_client.get(CHANGELIST, lookup)
    by_day = superuser_client.get(
        CHANGELIST,
        {"last_seen_at__year": "2020", "last_seen_at__month": "1"},
    )
    by_source = superuser_client.get(
        CHANGELIST, {"source__exact": "billing", "level__isnull": "False"}
    )

    assert refused.status_code == 400
    assert by_day.status_code == 200
    assert by_day.context["cl"].result_count == 0
    assert by_source.context["cl"].result_count == 1


def test_mark_viewed_action_marks_the_selected_errors(superuser_client, ingest_client):
    chosen = post_json(ingest_client, report(message="first kind")).json()["id"]
    other = post_json(ingest_client, report(message="second kind")).json()["id"]

    response = superuser_client.post(
        CHANGELIST,
        {"action": "mark_viewed", "_selected_action": [chosen]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Marked 1 error viewed." in [str(m) for m in response.context["messages"]]
    assert RuntimeError.objects.get(pk=chosen).viewed_by.username == "root"
    assert RuntimeError.objects.get(pk=other).viewed_at is None


def test_error_change_page_is_read_only(superuser_client, ingest_client):
    error_id = post_json(ingest_client, report()).json()["id"]

    page = superuser_client.get(f"{CHANGELIST}{error_id}/change/")

    assert page.status_code == 200
    assert b"invoice 17 failed to render" in page.content
    assert b'name="message"' not in page.content


def test_key_admin_shows_last_use_and_revoking_stops_the_key(
    superuser_client, ingest_client, ingest_key
):
    post_json(ingest_client, report())
    key = IngestKey.objects.get()
    listing = superuser_client.get("/admin/runtime_errors/ingestkey/")

    key.revoked = True
    key.save()
    refused = post_json(ingest_client, report())

    assert key.last_used_at is not None
    assert listing.status_code == 200
    assert key.prefix.encode() in listing.content
    assert refused.status_code == 401


def test_create_ingest_key_prints_a_working_key_once(client, db, capsys):
    from django.core.management import call_command

    call_command("create_ingest_key", "deploy-pipeline")
    printed = capsys.readouterr()
    key = printed.out.strip()

    response = client.post(
        "/api/v1/ingest/runtime-errors/",
        data=report(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
    )

    assert response.status_code == 201
    stored = IngestKey.objects.get(name="deploy-pipeline")
    assert key not in (stored.hashed_key, stored.id)
    assert "not shown again" in printed.err


def test_shell_keeps_the_builtin_runtime_error_and_offers_the_models(db, capsys):
    from django.core.management import call_command

    call_command(
        "shell",
        verbosity=0,
        command="print(RuntimeError.__module__, models.RuntimeError._meta.db_table)",
    )

    assert capsys.readouterr().out.strip() == "builtins runtime_errors"


@pytest.mark.django_db(transaction=True)
async def test_deleting_active_errors_in_admin_takes_them_off_every_stack(
    superuser_client, ingest_client, staff_user
):
    kept, deleted, chosen = [
        (await sync_to_async(post_json)(ingest_client, report(message=m))).json()["id"]
        for m in ("kept", "deleted one by one", "deleted in bulk")
    ]
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    await socket.receive_json_from()

    await sync_to_async(superuser_client.post)(
        f"{CHANGELIST}{deleted}/delete/", {"post": "yes"}
    )
    one = await socket.receive_json_from()
    await sync_to_async(superuser_client.post)(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [chosen], "post": "yes"},
    )
    bulk = await socket.receive_json_from()
    await socket.disconnect()

    assert (one["type"], one["ids"]) == ("runtime_error.deleted", [deleted])
    assert [error["id"] for error in one["stack"]] == [chosen, kept]
    assert (bulk["type"], bulk["ids"]) == ("runtime_error.deleted", [chosen])
    assert [error["id"] for error in bulk["stack"]] == [kept]
    assert bulk["active_count"] == 1
    assert not await RuntimeError.objects.filter(pk__in=[deleted, chosen]).aexists()


@pytest.mark.django_db(transaction=True)
async def test_deleting_a_viewed_error_in_admin_pushes_nothing(
    superuser_client, ingest_client, staff_client, staff_user
):
    viewed, active = [
        (await sync_to_async(post_json)(ingest_client, report(message=m))).json()["id"]
        for m in ("viewed", "active")
    ]
    await sync_to_async(staff_client.post)(f"{STAFF_URL}{viewed}/viewed/")
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    await socket.receive_json_from()

    await sync_to_async(superuser_client.post)(
        f"{CHANGELIST}{viewed}/delete/", {"post": "yes"}
    )
    quiet = await socket.receive_nothing(timeout=0.5)
    await sync_to_async(superuser_client.post)(
        f"{CHANGELIST}{active}/delete/", {"post": "yes"}
    )
    control = await socket.receive_json_from()
    await socket.disconnect()

    assert quiet
    assert (control["type"], control["ids"]) == ("runtime_error.deleted", [active])


def test_changelist_shows_bidi_controls_as_marks(superuser_client, ingest_client):
    post_json(
        ingest_client,
        report(source="auth-\u202ekrow", message="user \u202eNIMDA\u202c logged in"),
    )

    page = superuser_client.get(CHANGELIST).content.decode()

    assert "user ⟨U+202E⟩NIMDA⟨U+202C⟩ logged in" in page
    assert "auth-⟨U+202E⟩krow" in page
    assert "\u202e" not in page.split('id="changelist-filter"')[0]
