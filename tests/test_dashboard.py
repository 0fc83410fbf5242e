"""The staff dashboard, the detail page and the hourly counts behind the charts."""

import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser

import pytest
from django.db import DatabaseError
from django.test import override_settings

from runtime_errors import charts, reports, services
from runtime_errors.models import HourlyCount, RuntimeError

from .conftest import post_json, report
from .live import PROJECT_DIR

pytestmark = pytest.mark.django_db

API_FILTERS = {
    "status",
    "level",
    "source",
    "stage",
    "run_id",
    "task_id",
    "correlation_id",
    "project",
    "namespace",
    "job",
    "fingerprint",
    "since",
    "until",
    "q",
    "ordering",
}
NOON = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)


def ingest(*bodies, now):
    return services.ingest_reports(
        reports=[reports.parse_report(body, now=now) for body in bodies], now=now
    )


def hourly():
    return {
        (row.hour, row.level): row.occurrences
        for row in HourlyCount.objects.order_by("hour", "level")
    }


def test_each_report_counts_under_its_level_in_the_hour_it_arrived():
    ingest(report(), report(), report(level="critical"), now=NOON)
    ingest(report(), now=NOON + dt.timedelta(minutes=20))
    ingest(report(level="warning"), now=NOON + dt.timedelta(minutes=40))

    noon, one = NOON.replace(minute=0), NOON.replace(hour=13, minute=0)
    assert hourly() == {
        (noon, "critical"): 1,
        (noon, "error"): 3,
        (one, "warning"): 1,
    }
    assert sum(RuntimeError.objects.values_list("occurrences", flat=True)) == 5


def test_journal_row_and_hourly_count_commit_or_fail_together(monkeypatch):
    ingest(report(message="counted"), now=NOON)

    def fail(reports, *, now):
        raise DatabaseError("hourly count refused")

    monkeypatch.setattr(services, "_count_hourly", fail)
    with pytest.raises(DatabaseError):
        ingest(report(message="not counted"), now=NOON)

    assert list(RuntimeError.objects.values_list("message", flat=True)) == ["counted"]
    assert hourly() == {(NOON.replace(minute=0), "error"): 1}


def test_ingest_over_http_adds_to_the_current_hour(ingest_client):
    post_json(ingest_client, [report(), report(level="info", message="other")])

    assert sorted(HourlyCount.objects.values_list("level", "occurrences")) == [
        ("error", 1),
        ("info", 1),
    ]


def test_hourly_upsert_adds_up_on_sqlite_too(tmp_path):
    script = textwrap.dedent(
        """
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from runtime_errors import reports, services
        from runtime_errors.models import HourlyCount
        body = {"level": "error", "source": "s", "message": "m"}
        for _ in range(3):
            services.ingest_reports(reports=reports.parse_reports([body, body]))
        print(list(HourlyCount.objects.values_list("level", "occurrences")))
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.sqlite3'}",
    }

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('error', 6)]"


def test_charts_cover_the_last_24_hours_by_hour_and_7_days_by_day():
    now = dt.datetime(2024, 5, 8, 9, 15, tzinfo=dt.UTC)
    ingest(report(level="critical"), now=now)
    ingest(report(), report(), now=now - dt.timedelta(hours=23))
    ingest(report(level="warning"), now=now - dt.timedelta(hours=24))
    ingest(report(level="info"), now=now - dt.timedelta(days=6, hours=9))
    ingest(report(level="debug"), now=now - dt.timedelta(days=6, hours=10))

    figures = charts.occurrence_charts(now=now)

    day, week = figures["day"], figures["week"]
    assert len(day["labels"]) == 24
    assert (day["labels"][0], day["labels"][-1]) == ("10:00", "09:00")
    by_level = {series["level"]: series["data"] for series in day["datasets"]}
    assert list(by_level) == ["critical", "error", "warning", "info", "debug"]
    assert by_level["critical"][-1] == 1
    assert by_level["error"][0] == 2
    assert sum(by_level["warning"]) == 0
    assert day["total"] == 3
    assert week["labels"] == [
        "Thu 02 May",
        "Fri 03 May",
        "Sat 04 May",
        "Sun 05 May",
        "Mon 06 May",
        "Tue 07 May",
        "Wed 08 May",
    ]
    weekly = {series["level"]: series["data"] for series in week["datasets"]}
    assert weekly["info"] == [1, 0, 0, 0, 0, 0, 0]
    assert sum(weekly["debug"]) == 0
    assert weekly["warning"][-2] == 1
    assert week["total"] == 5


def test_dashboard_form_offers_every_filter_of_the_staff_api(client, staff_user):
    client.force_login(staff_user)

    response = client.get("/staff/")

    assert response.status_code == 200
    assert set(response.context["filterset"].form.fields) == API_FILTERS
    for name in API_FILTERS:
        assert f'name="{name}"' in response.content.decode()


def test_status_select_offers_each_status_once_and_defaults_to_active(
    client, staff_user
):
    active = ingest(report(message="still active"), now=NOON)[0]
    viewed = ingest(report(message="already seen"), now=NOON)[0]
    services.mark_viewed(ids=[viewed.id], user=staff_user)
    client.force_login(staff_user)

    default = client.get("/staff/")
    everything = client.get("/staff/", {"status": "all"})

    select = re.search(
        r'<select name="status".*?</select>', default.content.decode(), re.S
    )
    labels = re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0))
    # With nothing selected a browser shows the first option, the default.
    assert labels == ["Active", "Viewed", "All"]
    assert [e.id for e in default.context["page"]] == [active.id]
    assert {e.id for e in everything.context["page"]} == {active.id, viewed.id}


def test_dashboard_filters_pages_and_counts_by_level(client, staff_user):
    now = NOON
    for n in range(55):
        ingest(report(source="api", message=f"route {n} slow " + "x" * n), now=now)
    ingest(report(source="worker", level="critical"), now=now)
    client.force_login(staff_user)

    first = client.get("/staff/", {"source": "api"})
    second = client.get("/staff/", {"source": "api", "page": 2})
    everything = client.get("/staff/")

    assert first.context["page"].paginator.count == 55
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert 'rel="next"' in first.content.decode()
    assert "source=api&amp;page=2" in first.content.decode()
    counts = {row["level"]: row["errors"] for row in everything.context["counts"]}
    assert counts == {"critical": 1, "error": 55, "warning": 0, "info": 0, "debug": 0}


def test_bad_filter_value_is_named_on_the_page_not_a_server_error(client, staff_user):
    ingest(report(), now=NOON)
    client.force_login(staff_user)

    bad = client.get("/staff/", {"since": "yesterday"})
    good = client.get("/staff/", {"since": "2024-05-01T12:00:00"})

    assert bad.status_code == 200
    assert "Expected an ISO 8601 date-time" in bad.content.decode()
    assert bad.context["page"].paginator.count == 0
    assert good.context["page"].paginator.count == 1


def test_staff_pages_send_anyone_else_to_the_login(client, plain_user, staff_user):
    error_id = ingest(report(), now=NOON)[0].id
    client.force_login(plain_user)
    refused = [client.get("/staff/"), client.get(f"/staff/runtime-errors/{error_id}/")]
    client.force_login(staff_user)
    allowed = [client.get("/staff/"), client.get(f"/staff/runtime-errors/{error_id}/")]

    assert [response.status_code for response in refused] == [302, 302]
    assert all("/admin/login/" in response["Location"] for response in refused)
    assert [response.status_code for response in allowed] == [200, 200]


@override_settings(
    RUNTIME_ERRORS_LINKS={
        "run_id": "https://ci.example/runs/{run_id}",
        "project": "javascript:alert('{project}')",
    }
)
def test_detail_links_each_context_field_by_template_else_to_the_dashboard(
    client, staff_user
):
    body = report(
        run_id="run 42",
        project="shop",
        task_id="t-9",
        payload={"order": {"id": 7, "note": "ünïcode"}},
    )
    error_id = ingest(body, now=NOON)[0].id
    client.force_login(staff_user)

    response = client.get(f"/staff/runtime-errors/{error_id}/")

    page = response.content.decode()
    assert response.context["links"] == [
        ("run_id", "run 42", "https://ci.example/runs/run%2042"),
        ("task_id", "t-9", "/staff/?task_id=t-9&status=all"),
        ("project", "shop", "/staff/?project=shop&status=all"),
    ]
    assert "javascript:" not in page
    assert "&quot;note&quot;: &quot;ünïcode&quot;" in page
    assert "not yet" in page
    assert 'class="dismiss-error"' in page


def test_detail_of_a_viewed_error_names_the_viewer_and_time(client, staff_user):
    error_id = ingest(report(), now=NOON)[0].id
    services.mark_viewed(ids=[error_id], user=staff_user, now=NOON)
    client.force_login(staff_user)

    response = client.get(f"/staff/runtime-errors/{error_id}/")
    missing = client.get(f"/staff/runtime-errors/{error_id + 1}/")

    page = response.content.decode()
    assert "Viewed by oncall at" in page
    assert "2024-05-01 12:30:00" in page
    assert 'class="dismiss-error"' not in page
    assert missing.status_code == 404


def test_rows_show_the_first_line_of_a_message_that_has_text(client, staff_user):
    ingest(report(message="\n \n\r\nthe real message\nmore"), now=NOON)
    ingest(report(message="disk full\n\nsecond"), now=NOON)
    spaced, plain = RuntimeError.objects.order_by("id")
    client.force_login(staff_user)

    page = client.get("/staff/").content.decode()

    links = re.findall(
        r'<td class="message-cell"><a href="([^"]+)"[^>]*>([^<]*)</a>', page
    )
    assert sorted(links) == sorted(
        [
            (spaced.get_absolute_url(), "the real message"),
            (plain.get_absolute_url(), "disk full"),
        ]
    )
    assert str(spaced) == "error billing-worker: the real message"
    assert RuntimeError(message=" \n\t\r\n").first_line == "(no message text)"


class _Labels(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.label_targets, self.legends = set(), [], []
        self._in_legend = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "label":
            self.label_targets.append(attrs.get("for"))
        self._in_legend = tag == "legend"

    def handle_data(self, data):
        if self._in_legend and data.strip():
            self.legends.append(data.strip())

    def handle_endtag(self, tag):
        self._in_legend = False


def test_each_filter_label_names_its_field_and_the_levels_share_a_legend(
    client, staff_user
):
    client.force_login(staff_user)
    page = client.get("/staff/").content.decode()
    form = page[page.index('<form method="get"') : page.index("</form>")]

    labels = _Labels()
    labels.feed(form)

    assert labels.legends == ["Level"]
    assert re.search(r"<fieldset[^>]*>\s*<legend>Level</legend>", form)
    assert 'for=""' not in form
    assert len(labels.label_targets) == len(API_FILTERS) - 1 + 5
    assert [t for t in labels.label_targets if t not in labels.ids] == []


def test_bidi_controls_show_as_marks_and_are_kept_as_sent(client, staff_user):
    ingest(
        report(source="auth-\u202ekrow", message="user \u202eNIMDA\u202c logged in"),
        now=NOON,
    )
    error = RuntimeError.objects.get()
    client.force_login(staff_user)

    pages = [
        client.get("/staff/").content.decode(),
        client.get(error.get_absolute_url()).content.decode(),
    ]

    for page in pages:
        assert "user ⟨U+202E⟩NIMDA⟨U+202C⟩ logged in" in page
        assert "auth-⟨U+202E⟩krow" in page
        assert "\u202e" not in page
    error.refresh_from_db()
    assert error.message == "user \u202eNIMDA\u202c logged in"


@pytest.mark.parametrize(
    ("ordering", "described", "first"),
    [
        ("", "newest first", "later"),
        ("last_seen_at", "oldest first", "earlier"),
        ("-occurrences", "most occurrences first", "earlier"),
    ],
)
def test_dashboard_says_in_which_order_it_lists(
    client, staff_user, ordering, described, first
):
    ingest(report(message="earlier"), report(message="earlier"), now=NOON)
    ingest(report(message="later"), now=NOON + dt.timedelta(hours=1))
    client.force_login(staff_user)

    page = client.get("/staff/", {"ordering": ordering, "status": "all"})

    caption = re.search(r"<caption>(.*?)</caption>", page.content.decode()).group(1)
    assert caption == f"2 matching errors, {described}"
    assert [error.message for error in page.context["page"]][0] == first
