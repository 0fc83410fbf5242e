"""Headless Chromium for end-to-end tests of the staff pages.

Tests drive Debian's chromium through Playwright's async API: its sync API
keeps an event loop running in the test's thread, which Django's ORM refuses
to share. A staff user logs in by a session cookie set on the browser
context, as if they had signed in through admin.
"""

import contextlib
import os
from pathlib import Path

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from playwright.async_api import async_playwright

from .conftest import session_cookie

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR", PROJECT_DIR / "artifacts" / "screenshots")
)
VIEWPORT = {"width": 1280, "height": 900}
WAIT_MS = 15_000


@contextlib.asynccontextmanager
async def chromium():
    """Start headless Chromium for one test and stop it after."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class ScriptWatch:
    """Record what would show that injected script ran or a page broke."""

    def __init__(self):
        self.dialogs = []
        self.console_errors = []
        self.page_errors = []
        self.failed_responses = []

    def attach(self, page):
        page.on("dialog", self._on_dialog)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("response", self._on_response)
        return page

    async def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    def _on_console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_response(self, response):
        if response.status >= 400:
            self.failed_responses.append(f"{response.status} {response.url}")

    @property
    def quiet(self):
        return not (self.dialogs or self.console_errors or self.page_errors)

    def __repr__(self):
        return (
            f"dialogs={self.dialogs} console={self.console_errors} "
            f"page_errors={self.page_errors} failed={self.failed_responses}"
        )


def _staff_user(username, superuser):
    user, _ = get_user_model().objects.get_or_create(
        username=username,
        defaults={"is_staff": True, "is_superuser": superuser},
    )
    return user


async def staff_context(browser, server, *, username="oncall", superuser=False):
    """Return a browser context logged in as a staff user on a live server."""
    user = await database_sync_to_async(_staff_user)(username, superuser)
    cookie = await database_sync_to_async(session_cookie)(user)
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_cookies(
        [{"name": "sessionid", "value": cookie, "url": server.url}]
    )
    return context


async def open_staff_page(context, url, watch):
    """Open a staff page and wait until its alert stack has a live socket."""
    page = watch.attach(await context.new_page())
    await page.goto(url)
    await page.wait_for_selector("#alert-stack[data-socket='open']", state="attached")
    await page.wait_for_selector("#alert-stack[data-rendered='yes']", state="attached")
    return page


async def stack_messages(page):
    """Return the messages the alert stack shows, top first."""
    return await page.locator("#alert-stack .alert-message").all_text_contents()


async def wait_for_stack(page, messages):
    """Wait until the stack shows exactly these messages, top first."""
    await page.wait_for_function(
        """expected => JSON.stringify(Array.from(
            document.querySelectorAll('#alert-stack .alert-message'),
            node => node.textContent)) === JSON.stringify(expected)""",
        arg=messages,
        timeout=WAIT_MS,
    )


async def save_screenshot(target, name):
    """Save a screenshot of a page or an element under SCREENSHOT_DIR."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / name
    await target.screenshot(path=str(path))
    return path
