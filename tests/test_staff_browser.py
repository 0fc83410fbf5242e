"""The staff pages in headless Chromium against a live daphne server."""

import json
import time

import httpx
import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from runtime_errors import reports, services

from .browser import (
    WAIT_MS,
    ScriptWatch,
    chromium,
    open_staff_page,
    save_screenshot,
    stack_messages,
    staff_context,
    wait_for_stack,
)
from .conftest import INGEST_URL, STAFF_URL, report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
]

NO_POLLING = {"RUNTIME_ERRORS_ALERT_POLLING": "0"}


async def ingest(server, key, body):
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            server.url + INGEST_URL,
            json=body,
            headers={"Authorization": f"Api-Key {key}"},
        )
    assert response.status_code == 201, response.text
    return response.json()


async def test_ingested_error_reaches_an_open_page_by_socket_alone(
    live_servers, ingest_key, capsys
):
    server = live_servers(env=NO_POLLING)
    feed_requests = []

    async with chromium() as browser:
        context = await staff_context(browser, server)
        await context.clock.install()
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        page.on(
            "request",
            lambda request: (
                feed_requests.append(request.url) if "/feed/" in request.url else None
            ),
        )
        started = time.monotonic()
        answer = await ingest(
            server, ingest_key, report(message="queue stalled\nmore detail")
        )
        alert = await page.wait_for_selector("#alert-stack li.alert", timeout=WAIT_MS)
        elapsed_ms = (time.monotonic() - started) * 1000
        await save_screenshot(page.locator("#alert-stack"), "alert-stack.png")

        polling = await page.get_attribute("#alert-stack", "data-polling")
        message = await alert.eval_on_selector(".alert-message", "n => n.textContent")
        source = await alert.eval_on_selector(".alert-source", "n => n.textContent")
        when = await alert.eval_on_selector(".alert-time", "n => n.textContent")
        classes = await alert.get_attribute("class")
        announced = await page.text_content(".alert-stack-announcer")
        details = await alert.eval_on_selector(".alert-details", "n => n.href")
        await page.clock.fast_forward("05:00")
        later = await alert.eval_on_selector(".alert-time", "n => n.textContent")

    with capsys.disabled():
        print(f"\nalert reached the open stack {elapsed_ms:.0f} ms after ingest")
    assert polling == "off"
    assert feed_requests == []
    assert message == "queue stalled"
    assert source == "billing-worker"
    assert when == "just now"
    assert later == "5 min ago"
    assert "level-error" in classes
    assert announced == "New error from billing-worker: queue stalled"
    assert details == f"{server.url}/staff/runtime-errors/{answer['id']}/"
    assert watch.quiet, watch


async def test_stack_shows_five_newest_of_seven_and_dismissing_reveals_the_next(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    messages = [f"failure kind {kind}" for kind in "abcdefg"]

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        ids = [
            (await ingest(server, ingest_key, report(message=m)))["id"]
            for m in messages
        ]
        await wait_for_stack(page, messages[::-1][:5])
        shown_ids = await page.eval_on_selector_all(
            "#alert-stack li.alert", "items => items.map(i => Number(i.dataset.id))"
        )
        summary_before = await page.text_content(".alert-stack-summary")

        await page.focus("#alert-stack li.alert >> nth=0 >> .alert-dismiss")
        await page.keyboard.press("Enter")
        await wait_for_stack(page, messages[::-1][1:6])
        focused_id = await page.evaluate(
            "() => document.activeElement.closest('li.alert').dataset.id"
        )
        summary_after = await page.text_content(".alert-stack-summary")
        dismissed = await (
            await page.request.get(f"{server.url}{STAFF_URL}{ids[-1]}/")
        ).json()
        still_active = await (
            await page.request.get(f"{server.url}{STAFF_URL}{ids[-2]}/")
        ).json()

    assert shown_ids == ids[::-1][:5]
    assert summary_before == "7 active errors, 2 more not shown"
    assert summary_after == "6 active errors, 1 more not shown"
    assert focused_id == str(ids[-2])
    assert dismissed["viewed_at"] is not None
    assert dismissed["viewed_by"]["username"] == "oncall"
    assert still_active["viewed_at"] is None
    assert watch.quiet, watch


async def test_dismiss_all_shown_leaves_only_the_errors_that_were_not_shown(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    messages = [f"disk full on node {n}" for n in "abcdef"]

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        for message in messages:
            await ingest(server, ingest_key, report(message=message, source=message))
        await wait_for_stack(page, messages[::-1][:5])

        await page.click("button.alert-stack-dismiss-all")
        await wait_for_stack(page, messages[:1])
        feed = await (await page.request.get(f"{server.url}{STAFF_URL}feed/")).json()

    assert feed["active_count"] == 1
    assert [error["message"] for error in feed["results"]] == messages[:1]
    assert watch.quiet, watch


async def test_dismissing_in_one_tab_removes_the_alert_from_the_other(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        first = await open_staff_page(context, server.url + "/staff/", watch)
        second = await open_staff_page(
            context, server.url + "/staff/?status=all", watch
        )
        await ingest(server, ingest_key, report(message="cache node lost"))
        await ingest(server, ingest_key, report(message="payment gateway timeout"))
        both = ["payment gateway timeout", "cache node lost"]
        await wait_for_stack(first, both)
        await wait_for_stack(second, both)

        await first.click("#alert-stack li.alert >> nth=0 >> .alert-dismiss")
        await wait_for_stack(second, ["cache node lost"])
        left_in_first = await stack_messages(first)

    assert left_in_first == ["cache node lost"]
    assert watch.quiet, watch


HOSTILE = {
    "level": "error",
    "source": "<svg/onload=alert('s')>",
    "correlation_id": "corr-bc21",
    "run_id": "javascript:alert(4)",
    "job": "javascript:alert(5)",
    "message": "<img src=x onerror=alert('m')>",
    "stack": "</textarea><script>alert(3)</script>",
    "payload": {
        "user": {
            "name": '"><script>alert(1)</script>',
            "profile": "javascript:alert(2)",
        }
    },
    "occurred_at": "2024-05-01T10:00:00Z",
}

INJECTED = """() => ({
    images: document.querySelectorAll("img[src='x']").length,
    svgs: document.querySelectorAll("main svg, #alert-stack svg").length,
    scriptLinks: Array.from(document.querySelectorAll("a[href]"))
        .filter(a => a.protocol === "javascript:").length,
    inlineScripts: Array.from(document.querySelectorAll("script:not([src])"))
        .filter(s => s.type !== "application/json").length,
})"""
NOTHING_INJECTED = {"images": 0, "svgs": 0, "scriptLinks": 0, "inlineScripts": 0}


async def test_markup_in_an_error_is_shown_as_text_everywhere_and_never_runs(
    live_servers, ingest_key
):
    links = {"run_id": "https://ci.example/runs/{run_id}"}
    server = live_servers(env={"RUNTIME_ERRORS_LINKS": json.dumps(links)})
    page_checks = {}

    async with chromium() as browser:
        context = await staff_context(browser, server, superuser=True)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        error_id = (await ingest(server, ingest_key, HOSTILE))["id"]
        await wait_for_stack(page, [HOSTILE["message"]])
        stack_source = await page.text_content("#alert-stack .alert-source")
        run_href = await page.get_attribute("#alert-stack .alert-run", "href")
        page_checks["stack"] = await page.evaluate(INJECTED)

        await page.goto(server.url + "/staff/?status=all")
        row = page.locator("table.errors tbody tr").first
        dashboard_cells = await row.locator("td").all_text_contents()
        page_checks["dashboard"] = await page.evaluate(INJECTED)

        await page.goto(f"{server.url}/staff/runtime-errors/{error_id}/")
        detail = {
            "source": await page.text_content(".error-source"),
            "message": await page.text_content("pre.message"),
            "stack": await page.text_content("pre.stack"),
            "payload": json.loads(await page.text_content("pre.payload")),
            "links": await page.eval_on_selector_all(
                ".context a", "links => links.map(a => [a.textContent, a.href])"
            ),
        }
        page_checks["detail"] = await page.evaluate(INJECTED)

        await page.goto(server.url + "/admin/runtime_errors/runtimeerror/?q=corr-bc21")
        admin_row = await page.locator("#result_list tbody tr").first.inner_text()
        page_checks["admin list"] = await page.evaluate(INJECTED)
        await page.goto(
            f"{server.url}/admin/runtime_errors/runtimeerror/{error_id}/change/"
        )
        admin_detail = await page.locator("#content").inner_text()
        page_checks["admin change"] = await page.evaluate(INJECTED)

        await page.wait_for_timeout(300)
        dialogs_from_error_text = list(watch.dialogs)
        await page.evaluate("() => window.alert('control')")

    assert stack_source == HOSTILE["source"]
    assert run_href == "https://ci.example/runs/javascript%3Aalert%284%29"
    assert HOSTILE["source"] in dashboard_cells
    assert HOSTILE["message"] in dashboard_cells
    assert detail["source"] == HOSTILE["source"]
    assert detail["message"] == HOSTILE["message"]
    assert detail["stack"] == HOSTILE["stack"]
    assert detail["payload"] == HOSTILE["payload"]
    assert dict((text, href) for text, href in detail["links"]) == {
        "corr-bc21": f"{server.url}/staff/?correlation_id=corr-bc21&status=all",
        "javascript:alert(4)": "https://ci.example/runs/javascript%3Aalert%284%29",
        "javascript:alert(5)": (
            f"{server.url}/staff/?job=javascript%3Aalert%285%29&status=all"
        ),
    }
    assert HOSTILE["message"] in admin_row
    assert HOSTILE["source"] in admin_row
    for text in (HOSTILE["message"], HOSTILE["stack"], "javascript:alert(2)"):
        assert text in admin_detail
    assert page_checks == {name: NOTHING_INJECTED for name in page_checks}
    assert len(page_checks) == 5
    assert dialogs_from_error_text == []
    assert watch.dialogs == ["control"]
    assert not watch.console_errors and not watch.page_errors, watch


def _ingest_directly(message):
    return services.ingest_reports(
        reports=reports.parse_reports(report(message=message))
    )


def _mark_viewed(error_id):
    services.mark_viewed(
        ids=[error_id], user=get_user_model().objects.get(username="oncall")
    )


async def test_stack_reconnects_after_a_restart_and_resyncs_from_the_snapshot(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        before = await ingest(server, ingest_key, report(message="before the restart"))
        await wait_for_stack(page, ["before the restart"])
        await page.evaluate("() => { window.sameDocument = true; }")

        server.stop()
        await page.wait_for_selector(
            "#alert-stack[data-socket='closed']", state="attached"
        )
        status_while_down = await page.text_content(".alert-stack-status")
        await database_sync_to_async(_mark_viewed)(before["id"])
        await database_sync_to_async(_ingest_directly)("while the server was down")
        stack_while_down = await stack_messages(page)

        live_servers(port=server.port, env=NO_POLLING)
        await wait_for_stack(page, ["while the server was down"])
        await ingest(server, ingest_key, report(message="after the restart"))
        await wait_for_stack(page, ["after the restart", "while the server was down"])
        status_after = await page.text_content(".alert-stack-status")
        same_document = await page.evaluate("() => window.sameDocument === true")

    assert "reconnecting" in status_while_down
    assert stack_while_down == ["before the restart"]
    assert status_after == ""
    assert same_document
    assert not watch.page_errors and not watch.dialogs, watch


async def test_charts_by_level_and_dismiss_on_the_detail_page_with_screenshots(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    rollout = report(
        level="critical",
        source="deploy-pipeline",
        stage="rollout",
        message="rollout halted: 3 of 12 pods failed readiness",
        run_id="deploy-2291",
        project="storefront",
        namespace="prod-eu",
        job="canary",
        payload={"release": "v4.18.2", "failed_pods": ["web-7", "web-9", "web-11"]},
    )
    batch = [
        report(level="critical", source="control-plane", message="etcd quorum lost"),
        *[
            report(source="billing-worker", message=message, run_id="run-7")
            for message in (
                "invoice template missing",
                "ledger sync refused",
                "tax service unreachable",
                "currency table stale",
                "receipt mailer crashed",
            )
        ],
        report(level="warning", source="scheduler", message="job queue is deep"),
        report(level="warning", source="scheduler", message="retrying slow task"),
        report(level="info", source="ops-bot", message="maintenance window opened"),
    ]

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        await ingest(server, ingest_key, batch)
        answer = await ingest(server, ingest_key, [rollout, rollout])
        page = await open_staff_page(context, server.url + "/staff/", watch)
        await page.wait_for_function(
            "() => window.Chart && Chart.getChart(document.getElementById('chart-day'))"
        )
        day_totals = await page.evaluate(
            """() => Object.fromEntries(
                Chart.getChart(document.getElementById('chart-day')).data.datasets
                    .map(d => [d.label, d.data.reduce((a, b) => a + b, 0)]))"""
        )
        week_totals = await page.evaluate(
            """() => Chart.getChart(document.getElementById('chart-week')).data.datasets
                .map(d => d.data.reduce((a, b) => a + b, 0))"""
        )
        counts = await page.locator(".level-count .level-errors").all_text_contents()
        await save_screenshot(page, "dashboard.png")

        critical_id = answer["results"][0]["id"]
        await page.goto(f"{server.url}/staff/runtime-errors/{critical_id}/")
        await page.wait_for_selector(
            "#alert-stack[data-rendered='yes']", state="attached"
        )
        occurrences = await page.text_content(".occurrences")
        await save_screenshot(page, "detail.png")
        await save_screenshot(page.locator("#alert-stack"), "alert-stack-full.png")

        await page.click("button.dismiss-error")
        viewed_note = await page.text_content(".viewed-note", timeout=WAIT_MS)
        await page.wait_for_selector(
            "#alert-stack[data-rendered='yes']", state="attached"
        )
        stack_after_dismiss = await stack_messages(page)

    assert day_totals == {
        "Critical": 3,
        "Error": 5,
        "Warning": 2,
        "Info": 1,
        "Debug": 0,
    }
    assert sum(week_totals) == 11
    assert counts == ["2", "5", "2", "1", "0"]
    assert occurrences == "2"
    assert viewed_note.startswith("Viewed by oncall at ")
    assert rollout["message"] not in stack_after_dismiss
    assert len(stack_after_dismiss) == 5
    assert watch.quiet, watch


async def test_hidden_stack_stays_hidden_across_pages_and_shows_again(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        await ingest(server, ingest_key, report(message="cache node lost"))
        await wait_for_stack(page, ["cache node lost"])

        await page.click("#alert-stack .alert-stack-toggle")
        hidden = await page.is_visible("#alert-stack li.alert")
        await page.goto(server.url + "/staff/?status=all")
        still_hidden = await page.is_hidden("#alert-stack li.alert")
        summary = await page.text_content("#alert-stack .alert-stack-summary")
        await page.click("#alert-stack .alert-stack-toggle")
        await wait_for_stack(page, ["cache node lost"])

    assert hidden is False
    assert still_hidden
    assert summary.startswith("1 active error")
    assert watch.quiet, watch


async def test_history_table_keeps_headers_and_badges_on_one_line_at_1280_px(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    await ingest(
        server,
        ingest_key,
        report(source="billing-worker-eu-west-1", run_id="run-2024-05-01-nightly"),
    )

    async with chromium() as browser:
        context = await staff_context(browser, server)
        page = await open_staff_page(context, server.url + "/staff/", ScriptWatch())
        # A range has one client rectangle per line its text takes.
        lines = await page.evaluate(
            """() => Array.from(
                document.querySelectorAll(
                    'table.errors th, .level-badge, .viewed-state'),
                node => {
                    const range = document.createRange();
                    range.selectNodeContents(node);
                    return [node.textContent, range.getClientRects().length];
                })"""
        )
        await context.close()

    assert len(lines) == 9
    assert [text for text, count in lines if count != 1] == []


# The elements matching a selector that something else is drawn over.
COVERED = """selector => Array.from(document.querySelectorAll(selector))
    .filter(node => {
        const box = node.getBoundingClientRect();
        const top = document.elementFromPoint(
            box.left + box.width / 2, box.top + box.height / 2);
        return !(top && (node === top || node.contains(top)));
    })
    .map(node => node.textContent.trim())"""


async def test_a_long_alert_leaves_the_newest_alert_its_controls_and_the_nav_in_view(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    long_line = "X" * 3000

    async with chromium() as browser:
        context = await staff_context(browser, server, superuser=True)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        await ingest(server, ingest_key, report(message=long_line))
        await ingest(server, ingest_key, report(message="worker pool exhausted"))
        await wait_for_stack(page, ["worker pool exhausted", long_line])
        await save_screenshot(page, "alert-stack-long-message.png")
        stack_box = await page.locator("#alert-stack").bounding_box()
        header_box = await page.locator("header.topbar").bounding_box()
        long_alert = page.locator("#alert-stack .alert-message").nth(1)
        long_box = await long_alert.bounding_box()
        tooltip = await long_alert.get_attribute("title")
        covered_nav = await page.evaluate(COVERED, "header.topbar a, header .who")
        await page.goto(server.url + "/admin/")
        await wait_for_stack(page, ["worker pool exhausted", long_line])
        covered_admin = await page.evaluate(COVERED, "#user-tools a, #site-name a")
        admin_header = await page.locator("#header").bounding_box()
        await page.set_viewport_size({"width": 1280, "height": 360})
        short_stack_box = await page.locator("#alert-stack").bounding_box()

        newest = page.locator("#alert-stack li.alert >> nth=0 >> .alert-dismiss")
        # A short timeout: a click on a covered or off-screen button waits.
        await newest.click(timeout=2000)
        await wait_for_stack(page, [long_line])
        await page.click("#alert-stack .alert-stack-toggle", timeout=2000)
        collapsed = await page.is_hidden("#alert-stack li.alert")

    assert stack_box["y"] >= header_box["y"] + header_box["height"]
    assert stack_box["y"] + stack_box["height"] <= 900
    assert long_box["height"] < 100
    assert tooltip == long_line
    assert covered_nav == []
    assert covered_admin == []
    assert short_stack_box["y"] >= admin_header["y"] + admin_header["height"]
    assert short_stack_box["y"] + short_stack_box["height"] <= 360
    assert collapsed
    assert watch.quiet, watch


async def test_a_message_whose_first_lines_are_blank_shows_its_first_line_of_text(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        await ingest(server, ingest_key, report(message="\n\nthe real message\nmore"))
        await ingest(server, ingest_key, report(message=" \r\n\t\r\nindented:\n"))
        await wait_for_stack(page, ["indented:", "the real message"])
        announced = await page.text_content(".alert-stack-announcer")

    assert announced == "New error from billing-worker: indented:"
    assert watch.quiet, watch


REVERSED = {
    "source": "auth-\u202ekrow",
    "message": "user \u202eNIMDA\u202c logged in",
    "run_id": "run-\u2067x\u2069",
}
# True when the first letter of a word is drawn left of its last one.
READS_LEFT_TO_RIGHT = """([selector, word]) => {
    const walker = document.createTreeWalker(
        document.querySelector(selector), NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        const at = text.data.indexOf(word);
        if (at < 0) continue;
        const range = document.createRange();
        const left = offset => {
            range.setStart(text, at + offset);
            range.setEnd(text, at + offset + 1);
            return range.getBoundingClientRect().left;
        };
        return left(0) < left(word.length - 1);
    }
    return null;
}"""


async def test_bidi_controls_in_error_text_show_as_marks_and_reorder_nothing(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    shown_message = "user ⟨U+202E⟩NIMDA⟨U+202C⟩ logged in"
    shown_source = "auth-⟨U+202E⟩krow"

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        answer = await ingest(server, ingest_key, report(**REVERSED))
        await wait_for_stack(page, [shown_message])
        stack = {
            "source": await page.text_content("#alert-stack .alert-source"),
            "announced": await page.text_content(".alert-stack-announcer"),
            "in order": await page.evaluate(
                READS_LEFT_TO_RIGHT, ["#alert-stack .alert-message", "NIMDA"]
            ),
            "isolated": await page.eval_on_selector_all(
                "#alert-stack .alert-source, #alert-stack .alert-message",
                "nodes => nodes.map(n => getComputedStyle(n).unicodeBidi)",
            ),
        }

        await page.goto(server.url + "/staff/")
        cells = (
            await page.locator("table.errors tbody tr")
            .first.locator("td")
            .all_text_contents()
        )
        table_in_order = await page.evaluate(
            READS_LEFT_TO_RIGHT, ["table.errors .message-cell", "NIMDA"]
        )

        await page.goto(f"{server.url}/staff/runtime-errors/{answer['id']}/")
        detail = {
            "title": await page.title(),
            "source": await page.text_content(".error-source"),
            "message": await page.text_content("pre.message"),
            "run": await page.text_content(".context a"),
            "in order": await page.evaluate(
                READS_LEFT_TO_RIGHT, ["pre.message", "NIMDA"]
            ),
        }
        stored = await (
            await page.request.get(f"{server.url}{STAFF_URL}{answer['id']}/")
        ).json()

    assert stack == {
        "source": shown_source,
        "announced": f"New error from {shown_source}: {shown_message}",
        "in order": True,
        "isolated": ["isolate", "isolate"],
    }
    assert cells[1:3] == [shown_source, shown_message]
    assert cells[5] == "run-⟨U+2067⟩x⟨U+2069⟩"
    assert table_in_order
    assert detail == {
        "title": f"error from {shown_source}",
        "source": shown_source,
        "message": shown_message,
        "run": "run-⟨U+2067⟩x⟨U+2069⟩",
        "in order": True,
    }
    assert {field: stored[field] for field in REVERSED} == REVERSED
    assert watch.quiet, watch


async def test_stack_polls_the_feed_while_the_socket_is_refused(
    live_servers, ingest_key
):
    server = live_servers()
    feed_requests = []

    async def refuse(socket):
        await socket.close()

    async with chromium() as browser:
        context = await staff_context(browser, server)
        await context.clock.install()
        watch = ScriptWatch()
        page = watch.attach(await context.new_page())
        await page.route_web_socket("**/ws/staff/runtime-errors/", refuse)
        page.on(
            "request",
            lambda request: (
                feed_requests.append(request.url) if "/feed/" in request.url else None
            ),
        )
        await page.goto(server.url + "/staff/")
        await page.wait_for_selector(
            "#alert-stack[data-socket='closed']", state="attached"
        )
        status = await page.text_content(".alert-stack-status")
        polling = await page.get_attribute("#alert-stack", "data-polling")
        await ingest(server, ingest_key, report(message="feed only"))
        await page.clock.run_for(4000)
        before_interval = (list(feed_requests), await stack_messages(page))
        await page.clock.run_for(1000)
        await wait_for_stack(page, ["feed only"])
        socket = await page.get_attribute("#alert-stack", "data-socket")
        status_after = await page.text_content(".alert-stack-status")

    assert polling == "on"
    assert status == "Live updates lost; reconnecting…"
    assert before_interval == ([], [])
    assert len(feed_requests) == 1
    assert socket == "closed"
    assert status_after == status
    assert not watch.page_errors and not watch.dialogs, watch


async def test_a_repeat_shows_its_count_and_a_new_error_is_announced_politely(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        announcer = page.locator("#alert-stack .alert-stack-announcer")
        live = await announcer.get_attribute("aria-live")
        quiet_at_load = await announcer.text_content()
        await ingest(server, ingest_key, report(message="cache node lost"))
        await wait_for_stack(page, ["cache node lost"])
        counts_once = await page.locator("#alert-stack .alert-count").count()
        announced = await announcer.text_content()

        await ingest(server, ingest_key, report(message="cache node lost"))
        count = page.locator("#alert-stack .alert-count")
        await count.wait_for(timeout=WAIT_MS)
        count_text = await count.text_content()
        count_title = await count.get_attribute("title")

    assert live == "polite"
    assert quiet_at_load == ""
    assert counts_once == 0
    assert announced == "New error from billing-worker: cache node lost"
    assert count_text == "×2"
    assert count_title == "2 occurrences"
    assert watch.quiet, watch


async def test_a_degraded_journal_is_retried_with_growing_delays(live_servers):
    server = live_servers(env=NO_POLLING)
    attempts = []

    async def degraded(socket):
        attempts.append(time.monotonic())
        socket.send(json.dumps({"type": "journal.degraded", "active_count": 0}))
        await socket.close(code=4503)

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = watch.attach(await context.new_page())
        await page.route_web_socket("**/ws/staff/runtime-errors/", degraded)
        await page.goto(server.url + "/staff/")
        await page.wait_for_selector(
            "#alert-stack[data-socket='closed']", state="attached"
        )
        await page.wait_for_timeout(4000)
        status = await page.text_content(".alert-stack-status")

    # Delays of 0.5, 1 and 2 s, each within a quarter either way, leave room
    # for at most four attempts in four seconds; a delay that restarts at
    # 0.5 s on every accepted socket makes six or more.
    within = [t for t in attempts if t - attempts[0] <= 4]
    assert 2 <= len(within) <= 4, attempts
    assert status == ("The journal is degraded: its database is unavailable; retrying.")
    assert not watch.page_errors and not watch.dialogs, watch


FOCUSED = """() => {
    const node = document.activeElement;
    const item = node.closest('#alert-stack li.alert');
    return {
        control: node.id || node.className,
        first: Boolean(item) && item === item.parentNode.firstElementChild,
    };
}"""


async def test_dismiss_all_by_keyboard_keeps_focus_in_the_stack(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    messages = [f"disk full on node {n}" for n in "abcdefg"]
    for message in messages:
        await ingest(server, ingest_key, report(message=message, source=message))

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        await wait_for_stack(page, messages[::-1][:5])

        await page.focus("button.alert-stack-dismiss-all")
        await page.keyboard.press("Enter")
        await wait_for_stack(page, messages[1::-1])
        after_first = await page.evaluate(FOCUSED)
        await page.keyboard.press("Enter")
        await wait_for_stack(page, messages[:1])
        after_one = await page.evaluate(FOCUSED)
        await page.focus("button.alert-stack-dismiss-all")
        # The stack empties before the server answers; the feed is read after.
        async with page.expect_response(
            lambda response: response.url.endswith("/viewed/")
        ) as dismissed:
            await page.keyboard.press("Enter")
        await page.wait_for_selector("#alert-stack.is-empty", state="attached")
        after_last = await page.evaluate(FOCUSED)
        dismissed_status = (await dismissed.value).status
        feed = await (await page.request.get(f"{server.url}{STAFF_URL}feed/")).json()

    assert after_first == {"control": "alert-dismiss", "first": True}
    assert after_one == {"control": "alert-dismiss", "first": True}
    assert after_last == {"control": "alert-stack", "first": False}
    assert dismissed_status == 200
    assert feed["active_count"] == 0
    assert watch.quiet, watch


async def test_only_new_or_repeated_errors_are_announced_and_cut_to_150_characters(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    older = [f"older failure {kind}" for kind in "abcdef"]
    for message in older:
        await ingest(server, ingest_key, report(message=message))
    long_line = "Y" * 3045
    announced_long = "New error from billing-worker: " + "Y" * 149 + "…"

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        page = await open_staff_page(context, server.url + "/staff/", watch)
        announcer = page.locator("#alert-stack .alert-stack-announcer")
        await wait_for_stack(page, older[::-1][:5])
        at_load = await announcer.text_content()

        await page.click("#alert-stack li.alert >> nth=0 >> .alert-dismiss")
        await wait_for_stack(page, older[4::-1])
        # The viewed message has been drawn; give a wrong announcement the
        # same time to show as the next message takes.
        await page.wait_for_timeout(500)
        after_dismissal = await announcer.text_content()

        await ingest(server, ingest_key, report(message=older[2]))
        await page.wait_for_function(
            "text => document.querySelector('.alert-stack-announcer')"
            ".textContent === text",
            arg=f"Repeated error from billing-worker: {older[2]}",
            timeout=WAIT_MS,
        )
        await ingest(server, ingest_key, report(message=long_line))
        await page.wait_for_selector(
            "#alert-stack li.alert .alert-message[title^='YYY']", timeout=WAIT_MS
        )
        announced = await announcer.text_content()

    assert at_load == ""
    assert after_dismissal == ""
    assert announced == announced_long
    assert len(announced) == len("New error from billing-worker: ") + 150
    assert watch.quiet, watch


def _staff_with_password(username, password):
    return get_user_model().objects.create_user(
        username=username, password=password, is_staff=True
    )


async def test_an_old_tab_dismisses_after_a_logout_and_login_in_another_tab(
    live_servers, ingest_key
):
    server = live_servers(env=NO_POLLING)
    answer = await ingest(server, ingest_key, report(message="cache node lost"))

    # The password first: setting it later ends the sessions made before.
    await database_sync_to_async(_staff_with_password)("oncall", "correct horse 42")

    async with chromium() as browser:
        context = await staff_context(browser, server)
        watch = ScriptWatch()
        old_tab = await open_staff_page(context, server.url + "/staff/", watch)
        await wait_for_stack(old_tab, ["cache node lost"])
        other_tab = await context.new_page()
        await other_tab.goto(server.url + "/admin/")
        await other_tab.click("#logout-form button")
        await other_tab.wait_for_url("**/admin/logout/")

        await old_tab.click("#alert-stack .alert-dismiss")
        status = old_tab.locator("#alert-stack .alert-stack-status")
        await status.filter(has_text="session has ended").wait_for(timeout=WAIT_MS)
        status_logged_out = await status.text_content()
        await wait_for_stack(old_tab, ["cache node lost"])

        await other_tab.goto(server.url + "/admin/login/")
        await other_tab.fill("#id_username", "oncall")
        await other_tab.fill("#id_password", "correct horse 42")
        await other_tab.click("input[type=submit]")
        await other_tab.wait_for_url(server.url + "/admin/")
        # The stack empties before the server answers; the record is read after.
        async with old_tab.expect_response(
            lambda response: response.url.endswith("/viewed/")
        ):
            await old_tab.click("#alert-stack .alert-dismiss")
        await wait_for_stack(old_tab, [])
        dismissed = await (
            await old_tab.request.get(f"{server.url}{STAFF_URL}{answer['id']}/")
        ).json()
        status_logged_in = await status.text_content()

    assert status_logged_out == (
        "Your session has ended; reload the page to sign in again."
    )
    assert dismissed["viewed_at"] is not None
    assert dismissed["viewed_by"]["username"] == "oncall"
    assert "session" not in status_logged_in
    assert not watch.page_errors and not watch.dialogs, watch
