"""Secrets planted anywhere in a report never come back out of the product."""

import html
import itertools
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime_errors.models import RuntimeError

from .conftest import STAFF_URL, post_json, session_cookie, socket_for
from .secret_corpus import KINDS, SENSITIVE_KEYS, TEXT_SAMPLES

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 500
LIST_GROUP = 20
# Hypothesis draws unevenly from a list, so each kind gets its own run in
# which it is always planted, among others drawn at random.
EXAMPLES_PER_KIND = -(-EXAMPLES // len(KINDS))
ADMIN_URL = "/admin/runtime_errors/runtimeerror/"

WORDS = st.sampled_from(
    "request failed while calling upstream retry worker order invoice job step "
    "timeout refused handler queue batch id user region eu-west-1 ok at in of "
    "KeyError ValueError line 42 File app.py".split()
)
FILLER = st.lists(WORDS, max_size=6).map(" ".join)
SEPARATORS = st.sampled_from([" ", "\n", ": ", " (", "\t", ", ", "\n  "])
HARMLESS_KEYS = st.sampled_from(
    ["context", "request", "meta", "data", "details", "extra", "items", "env"]
)
SECRET_VALUES = st.text(
    alphabet="abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_",
    min_size=10,
    max_size=28,
).filter(lambda value: any(char.isdigit() for char in value))


SAMPLES_BY_KIND = {}
for _kind, _text, _secrets in TEXT_SAMPLES:
    SAMPLES_BY_KIND.setdefault(_kind, []).append((_kind, _text, _secrets))


@st.composite
def text_plant(draw, kind=None):
    """A secret of a known shape, with its forbidden parts."""
    kind = kind or draw(st.sampled_from(sorted(SAMPLES_BY_KIND)))
    return draw(st.sampled_from(SAMPLES_BY_KIND[kind]))


def plant_of_kind(kind):
    """A plant of the given kind, so that every kind is planted in turn."""
    return keyed_plant() if kind == "sensitive-key" else text_plant(kind)


@st.composite
def keyed_plant(draw):
    """A secret under a sensitive key, as a key, a header pair or in text."""
    name = draw(st.sampled_from(SENSITIVE_KEYS))
    value = draw(SECRET_VALUES)
    form = draw(st.sampled_from(["object", "pair", "named-pair", "text", "json"]))
    if form == "object":
        planted = {name: value, "note": "kept"}
    elif form == "pair":
        planted = [[name, value], ["Accept", "application/json"]]
    elif form == "named-pair":
        planted = [{"name": name, "value": value}, {"name": "Host", "value": "api"}]
    elif form == "text":
        planted = f"{name}={value}"
    else:
        planted = f'{{"{name}": "{value}", "region": "eu"}}'
    return "sensitive-key", planted, (value,)


@st.composite
def reports_with_secrets(draw, correlation_id, source, kind):
    """A report with a secret of the given kind and up to three more, at
    random places and depths."""
    plants = [draw(plant_of_kind(kind))]
    plants += draw(st.lists(st.one_of(text_plant(), keyed_plant()), max_size=3))
    parts = {"message": [draw(FILLER)], "stack": [draw(FILLER)]}
    payload = {"service": "orders", "attempt": 3}
    for number, (_, planted, _) in enumerate(plants):
        place = draw(st.sampled_from(["message", "stack", "payload", "payload"]))
        if isinstance(planted, str) and place != "payload":
            parts[place] += [draw(SEPARATORS), planted, draw(SEPARATORS), draw(FILLER)]
            continue
        if isinstance(planted, str):
            planted = draw(SEPARATORS).join([draw(FILLER), planted, draw(FILLER)])
        path = draw(st.lists(HARMLESS_KEYS, max_size=8))
        node = payload
        for key in path:
            node = node.setdefault(f"{key}_{number}", {})
        if draw(st.booleans()):
            planted = ["first", planted, 7]
        node[f"field_{number}"] = planted
    body = {
        "level": "error",
        "source": source,
        "message": "".join(parts["message"]) or "failed",
        "stack": "".join(parts["stack"]),
        "payload": payload,
        "correlation_id": correlation_id,
        "fingerprint": ["{{ default }}", correlation_id],
    }
    return body, plants


def forbidden_forms(secret):
    """The secret as raw text, JSON-escaped and HTML-escaped."""
    return {secret, json.dumps(secret)[1:-1], html.escape(secret)}


def row_surfaces(*, error_id, staff_client, admin_client, pushed):
    """Every place one stored error can be read back alone, as text."""
    row = RuntimeError.objects.get(pk=error_id)
    stored = " ".join(
        [
            row.message,
            row.stack,
            row.source,
            json.dumps(row.payload, ensure_ascii=False),
            json.dumps(row.payload),
        ]
    )
    surfaces = {
        "database row": stored,
        "websocket message": json.dumps(pushed, ensure_ascii=False),
    }
    surfaces.update(
        pages(
            [
                ("staff API detail", staff_client, f"{STAFF_URL}{error_id}/"),
                (
                    "staff detail page",
                    staff_client,
                    f"/staff/runtime-errors/{error_id}/",
                ),
                ("admin change page", admin_client, f"{ADMIN_URL}{error_id}/change/"),
            ]
        )
    )
    return surfaces


def list_surfaces(*, source, staff_client, admin_client):
    """The lists that show every error of one source, as text."""
    return pages(
        [
            (
                "staff API list",
                staff_client,
                f"{STAFF_URL}?source={source}&page_size=200",
            ),
            ("staff dashboard", staff_client, f"/staff/?source={source}"),
            ("admin changelist", admin_client, f"{ADMIN_URL}?q={source}"),
        ]
    )


def pages(requests):
    texts = {}
    for name, client, url in requests:
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        texts[name] = response.content.decode()
    return texts


def assert_absent(plants, surfaces):
    for kind, _, secrets in plants:
        for secret in secrets:
            for form in forbidden_forms(secret):
                for surface, text in surfaces.items():
                    assert form not in text, (kind, secret, surface)


def in_own_connection(function):
    """Return function wrapped to close its thread's database connections."""

    def run():
        try:
            function()
        finally:
            connections.close_all()

    return run


async def test_planted_secrets_never_leave_the_product(
    ingest_client, staff_client, staff_user, admin_client
):
    socket = socket_for(await sync_to_async(session_cookie)(staff_user))
    assert (await socket.connect())[0]
    await socket.receive_json_from()
    numbers = itertools.count()
    kinds_seen = set()
    # Lists are read once per group of reports, each group its own source, so
    # that every row appears on one page of each list.
    planted_by_source = {}

    def check_kind(kind):
        """Run the examples that plant this kind first, then up to three
        secrets of any kind."""

        @settings(
            max_examples=EXAMPLES_PER_KIND,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def check(data):
            number = next(numbers)
            correlation_id = f"corr-planted-{number}"
            source = f"orders-api-{number // LIST_GROUP}"
            body, plants = data.draw(reports_with_secrets(correlation_id, source, kind))

            response = post_json(ingest_client, body)
            assert response.status_code == 201, response.content
            pushed = async_to_sync(socket.receive_json_from)(timeout=5)
            assert pushed["error"]["id"] == response.json()["id"]
            surfaces = row_surfaces(
                error_id=response.json()["id"],
                staff_client=staff_client,
                admin_client=admin_client,
                pushed=pushed,
            )

            assert_absent(plants, surfaces)
            assert "[redacted]" in surfaces["database row"]
            kinds_seen.update(planted_kind for planted_kind, _, _ in plants)
            planted_by_source.setdefault(source, []).extend(plants)

        check()

    def check_every_kind():
        for kind in sorted(KINDS):
            check_kind(kind)

    def check_lists():
        for source, plants in planted_by_source.items():
            surfaces = list_surfaces(
                source=source, staff_client=staff_client, admin_client=admin_client
            )
            assert_absent(plants, surfaces)

    # Off the thread-sensitive executor: the consumer needs it to deliver
    # the pushes that the examples wait for.
    await sync_to_async(in_own_connection(check_every_kind), thread_sensitive=False)()
    await sync_to_async(in_own_connection(check_lists), thread_sensitive=False)()
    await socket.disconnect()

    assert next(numbers) >= EXAMPLES
    assert len(planted_by_source) >= EXAMPLES // LIST_GROUP
    assert kinds_seen == KINDS
