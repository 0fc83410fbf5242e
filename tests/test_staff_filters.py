"""Staff filters find exactly what they name; a bad value is a 400 naming it."""

import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.db import connections

from config.asgi import application
from runtime_errors.models import CONTEXT_FIELDS, RuntimeError

from .conftest import INGEST_URL, STAFF_URL, post_json, report, session_cookie

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_errors(ingest_client):
    ids = [
        post_json(ingest_client, report(source=source, level=level)).json()["id"]
        for source, level in (("api", "error"), ("worker", "warning"))
    ]
    return ids


def detail_link(error_id):
    return f'href="/staff/runtime-errors/{error_id}/"'


def listed_ids(client, query):
    response = client.get(f"{STAFF_URL}?{query}")
    assert response.status_code == 200, response.content
    return sorted(error["id"] for error in response.json()["results"])


def dashboard_ids(client, query, candidates):
    page = client.get(f"/staff/?{query}")
    assert page.status_code == 200
    return sorted(i for i in candidates if detail_link(i) in page.content.decode())


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


ADMIN_URL = "/admin/runtime_errors/runtimeerror/"
# How a lone surrogate reaches a URL: its code point in UTF-8 form, which
# is not valid UTF-8 (clients that encode with "surrogatepass" send these).
LONE_HIGH = "%ED%A0%80"
LONE_LOW = "%ED%B0%80"
REPLACEMENT = "%EF%BF%BD"


@pytest.fixture
def surrogate_errors(ingest_client):
    raw = '{"level":"error","source":"bad\\ud800name","message":"half \\udc00 emoji"}'
    stored = ingest_client.post(INGEST_URL, data=raw, content_type="application/json")
    other = post_json(ingest_client, report(source="other"))
    return stored.json()["id"], other.json()["id"]


def admin_link(error_id):
    return f'href="{ADMIN_URL}{error_id}/change/'


@pytest.mark.parametrize(
    "bad",
    [LONE_HIGH, LONE_LOW, LONE_HIGH + LONE_LOW, "%C0%80", "%FF", "%00" + LONE_HIGH],
)
def test_lone_surrogates_and_bad_utf8_in_filter_parameters_are_never_a_500(
    staff_client, admin_client, surrogate_errors, bad
):
    api = {
        f"source=a{bad}b": 200,
        f"q={bad}": 200,
        f"{bad}=1": 200,
        f"since={bad}": 400,
        f"level={bad}": 400,
        f"ordering={bad}": 400,
        f"page={bad}": 400,
    }
    pages = [f"source=a{bad}b", f"q={bad}", f"since={bad}", f"level={bad}"]
    admin = [f"q={bad}", f"source__exact=a{bad}b", f"level__exact={bad}"]

    answers = {query: staff_client.get(f"{STAFF_URL}?{query}") for query in api}
    dashboard = [staff_client.get(f"/staff/?{query}") for query in pages]
    changelist = [admin_client.get(f"{ADMIN_URL}?{query}") for query in admin]

    assert {query: answer.status_code for query, answer in answers.items()} == api
    for query, answer in answers.items():
        if api[query] == 400:
            assert list(answer.json()) == [query.split("=")[0]]
    assert [page.status_code for page in dashboard] == [200] * len(pages)
    assert [page.status_code for page in changelist] == [200] * len(admin)
    assert staff_client.get(STAFF_URL).json()["count"] == 2


def test_a_stored_lone_surrogate_is_found_by_its_replacement_character(
    staff_client, admin_client, surrogate_errors
):
    stored, other = surrogate_errors

    by_source = staff_client.get(f"{STAFF_URL}?source=bad{REPLACEMENT}name")
    by_text = staff_client.get(f"{STAFF_URL}?q=half%20{REPLACEMENT}")
    dashboard = staff_client.get(f"/staff/?source=bad{REPLACEMENT}name").content
    admin = admin_client.get(f"{ADMIN_URL}?q=half%20{REPLACEMENT}").content

    assert RuntimeError.objects.get(pk=stored).source == "bad\ufffdname"
    assert [e["id"] for e in by_source.json()["results"]] == [stored]
    assert [e["id"] for e in by_text.json()["results"]] == [stored]
    assert detail_link(stored) in dashboard.decode()
    assert detail_link(other) not in dashboard.decode()
    assert admin_link(stored) in admin.decode()
    assert admin_link(other) not in admin.decode()


def test_a_lone_surrogate_in_a_filter_finds_what_ingest_stored_for_it(
    staff_client, admin_client, surrogate_errors
):
    stored, other = surrogate_errors

    by_source = staff_client.get(f"{STAFF_URL}?source=bad{LONE_HIGH}name")
    by_text = staff_client.get(f"{STAFF_URL}?q=half%20{LONE_LOW}%20emoji")
    dashboard = staff_client.get(f"/staff/?source=bad{LONE_HIGH}name").content
    admin = admin_client.get(f"{ADMIN_URL}?q=half%20{LONE_LOW}").content

    assert [e["id"] for e in by_source.json()["results"]] == [stored]
    assert [e["id"] for e in by_text.json()["results"]] == [stored]
    assert detail_link(stored) in dashboard.decode()
    assert detail_link(other) not in dashboard.decode()
    assert admin_link(stored) in admin.decode()


async def get_with_raw_query(path, query, cookie):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", b"sessionid=" + cookie)],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=5)
    await communicator.receive_output(timeout=5)
    await communicator.wait(timeout=5)
    return start["status"]


@pytest.mark.django_db(transaction=True)
async def test_bytes_that_are_not_utf8_in_a_raw_query_string_are_never_a_500(
    admin_user,
):
    # A client can put bytes on the wire unencoded; the server hands them on.
    cookie = (await sync_to_async(session_cookie)(admin_user)).encode()
    paths = [STAFF_URL, "/staff/", ADMIN_URL]
    queries = [b"source=bad\xed\xa0\x80name", b"q=\xff", b"q=\xc0\x80"]

    refused = [
        await get_with_raw_query(path, query, cookie)
        for path in paths
        for query in queries
    ]
    served = [await get_with_raw_query(path, b"q=fine", cookie) for path in paths]
    await sync_to_async(connections.close_all)()

    assert all(status in (200, 400) for status in refused), refused
    assert served == [200, 200, 200]


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


@pytest.mark.parametrize("field", ["source", "stage", *CONTEXT_FIELDS])
def test_each_context_filter_finds_exactly_the_errors_with_that_value(
    staff_client, ingest_client, field
):
    # A run id that is a prefix of another must not find the other's errors.
    values = {"a": "alpha-1", "b": "alpha-10", "c": None}
    ids = {}
    for kind, value in values.items():
        body = report(message=f"failure kind {kind}")
        if value is not None:
            body[field] = value
        ids[kind] = post_json(ingest_client, body).json()["id"]

    every = list(ids.values())
    assert listed_ids(staff_client, f"{field}=alpha-1") == [ids["a"]]
    assert listed_ids(staff_client, f"{field}=alpha-10") == [ids["b"]]
    assert listed_ids(staff_client, f"{field}=alpha") == []
    assert listed_ids(staff_client, "") == sorted(every)
    assert dashboard_ids(staff_client, f"{field}=alpha-1", every) == [ids["a"]]


def test_fingerprint_filter_finds_every_row_of_one_error(staff_client, ingest_client):
    first = post_json(ingest_client, report(fingerprint="checkout")).json()
    staff_client.post(f"{STAFF_URL}{first['id']}/viewed/")
    again = post_json(ingest_client, report(fingerprint="checkout")).json()
    other = post_json(ingest_client, report(fingerprint="refunds")).json()
    fingerprint = first["fingerprint"]

    assert again["fingerprint"] == fingerprint != other["fingerprint"]
    assert listed_ids(staff_client, f"fingerprint={fingerprint}") == [again["id"]]
    assert listed_ids(staff_client, f"fingerprint={fingerprint}&status=all") == sorted(
        [first["id"], again["id"]]
    )
    assert listed_ids(staff_client, f"fingerprint={other['fingerprint']}") == [
        other["id"]
    ]


def test_status_chooses_active_viewed_or_all(staff_client, ingest_client):
    active, viewed = (
        post_json(ingest_client, report(message=f"failure kind {kind}")).json()["id"]
        for kind in "ab"
    )
    staff_client.post(f"{STAFF_URL}{viewed}/viewed/")

    assert listed_ids(staff_client, "") == [active]
    assert listed_ids(staff_client, "status=active") == [active]
    assert listed_ids(staff_client, "status=viewed") == [viewed]
    assert listed_ids(staff_client, "status=all") == sorted([active, viewed])
    assert dashboard_ids(staff_client, "status=viewed", [active, viewed]) == [viewed]


def test_message_search_ignores_case_and_takes_wildcards_literally(
    staff_client, ingest_client
):
    messages = ["Disk full on /var", "disk FULL again", "cpu at 100%", "user_id lost"]
    ids = [
        post_json(ingest_client, report(message=message)).json()["id"]
        for message in messages
    ]

    assert listed_ids(staff_client, "q=disk%20full") == sorted(ids[:2])
    assert listed_ids(staff_client, "q=%25") == [ids[2]]
    assert listed_ids(staff_client, "q=_") == [ids[3]]
    assert listed_ids(staff_client, "q=d%25full") == []
    assert listed_ids(staff_client, "q=nothing%20like%20this") == []


def test_repeated_level_finds_any_of_the_levels_given(staff_client, ingest_client):
    ids = {
        level: post_json(ingest_client, report(level=level)).json()["id"]
        for level in ("info", "warning", "error", "critical")
    }

    assert listed_ids(staff_client, "level=error&level=critical") == sorted(
        [ids["error"], ids["critical"]]
    )
    assert listed_ids(staff_client, "level=info") == [ids["info"]]
    assert listed_ids(staff_client, "level=info&level=warn&level=50") == sorted(
        [ids["info"], ids["warning"], ids["critical"]]
    )


def test_filters_combine_so_every_one_must_match(staff_client, ingest_client):
    wanted = post_json(
        ingest_client, report(run_id="run-7", level="critical", message="lost lease")
    ).json()["id"]
    post_json(ingest_client, report(run_id="run-7", level="error", message="slow"))
    post_json(ingest_client, report(run_id="run-8", level="critical"))

    assert listed_ids(staff_client, "run_id=run-7&level=critical") == [wanted]
    assert listed_ids(staff_client, "run_id=run-7&level=critical&q=slow") == []


def test_date_bounds_apply_to_last_seen_not_to_the_clients_clock_or_first_seen(
    staff_client, ingest_client
):
    at = {hour: dt.datetime(2024, 5, 1, hour, tzinfo=dt.UTC) for hour in (8, 9, 10, 11)}
    rows = {
        # source: (occurred_at, first_seen_at, last_seen_at)
        "seen-at-ten": (at[11], at[8], at[10]),
        "seen-at-eleven": (at[8], at[8], at[11]),
        "seen-at-nine": (at[10], at[10], at[9]),
    }
    ids = {}
    for source, (occurred, first_seen, last_seen) in rows.items():
        ids[source] = post_json(ingest_client, report(source=source)).json()["id"]
        RuntimeError.objects.filter(pk=ids[source]).update(
            occurred_at=occurred, first_seen_at=first_seen, last_seen_at=last_seen
        )

    def found(query):
        listed = listed_ids(staff_client, query)
        return [source for source, error_id in ids.items() if error_id in listed]

    assert found("since=2024-05-01T10:00:00Z") == ["seen-at-ten", "seen-at-eleven"]
    assert found("since=2024-05-01T10:00:00.000001Z") == ["seen-at-eleven"]
    assert found("until=2024-05-01T10:00:00Z") == ["seen-at-nine"]
    assert found("until=2024-05-01T10:00:00.000001Z") == ["seen-at-ten", "seen-at-nine"]
    assert found("since=2024-05-01T10:00:00Z&until=2024-05-01T11:00:00Z") == [
        "seen-at-ten"
    ]
