"""`make run` as a new user runs it: a fresh clone, SQLite, the README's steps.

The clone reuses this checkout's virtual environment (`VENV=`), so nothing is
installed; the server runs the clone's own code, database and settings.
"""

import asyncio
import os
import re
import signal
import subprocess
import time
from types import SimpleNamespace

import httpx
import pytest

from .browser import (
    VIEWPORT,
    ScriptWatch,
    chromium,
    save_screenshot,
    stack_messages,
    wait_for_stack,
)
from .live import PROJECT_DIR, free_port
from .test_example_job import run_example

pytestmark = [pytest.mark.browser, pytest.mark.live]

VENV = PROJECT_DIR / ".venv"
STARTUP_SECONDS = 90
# What `make run` must not inherit from the test run: a user's shell has none
# of it, so the clone falls back to SQLite, the in-memory layer and .env.
TEST_ONLY_ENV = ("DATABASE_URL", "REDIS_URL", "DJANGO_", "RUNTIME_ERRORS_")
LOGIN_LINE = re.compile(
    r"Log in at (\S+) with password (\S+) \(kept in \.dev-admin-password\)"
)
JOB_MESSAGE = "ValueError: order A-1004: unit price 'n/a' is not a number"


def user_environment():
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(TEST_ONLY_ENV)
    }


def clone_head(target):
    """Clone the committed HEAD, dated so make sees the venv as installed."""
    stamp = VENV / ".installed"
    if not stamp.exists():
        pytest.fail(f"{stamp} is missing: run `make install` first.")
    subprocess.run(
        ["git", "clone", "-q", str(PROJECT_DIR), str(target)],
        check=True,
        timeout=60,
    )
    # A checkout's files are newer than the stamp; left so, make would
    # reinstall this checkout's venv from the clone.
    older = stamp.stat().st_mtime - 1
    os.utime(target / "pyproject.toml", (older, older))


def start_make_run(clone, port, log_path):
    with log_path.open("wb") as log:
        return subprocess.Popen(
            ["make", "run", f"PORT={port}", f"VENV={VENV}"],
            cwd=clone,
            env=user_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(process, url, log_path):
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/admin/login/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    log = log_path.read_text()
    pytest.fail(f"make run did not serve in {STARTUP_SECONDS}s:\n{log}")


def stop(process):
    """Stop make and the server it started: the whole process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def create_ingest_key(clone):
    result = subprocess.run(
        [VENV / "bin" / "python", "manage.py", "create_ingest_key", "nightly-revenue"],
        cwd=clone,
        env=user_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    return result.stdout.strip()


async def test_make_run_in_a_fresh_clone_serves_the_readme_walkthrough(tmp_path):
    clone = tmp_path / "clone"
    clone_head(clone)
    server = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}")
    log_path = tmp_path / "make-run.log"
    process = start_make_run(clone, server.url.rsplit(":", 1)[1], log_path)
    try:
        await asyncio.to_thread(wait_until_serving, process, server.url, log_path)
        printed = LOGIN_LINE.search(log_path.read_text())
        password = (clone / ".dev-admin-password").read_text().strip()

        async with chromium() as browser:
            context = await browser.new_context(viewport=VIEWPORT)
            watch = ScriptWatch()
            page = watch.attach(await context.new_page())
            await page.goto(server.url + "/admin/login/?next=/staff/")
            await page.fill("#id_username", "admin")
            await page.fill("#id_password", password)
            await page.click("input[type=submit]")
            await page.wait_for_url(server.url + "/staff/")
            await page.wait_for_selector(
                "#alert-stack[data-socket='open']", state="attached"
            )
            stack_before = await stack_messages(page)

            key = await asyncio.to_thread(create_ingest_key, clone)
            job = await asyncio.to_thread(run_example, server, key, cwd=clone)
            await wait_for_stack(page, [JOB_MESSAGE])
            run_link = await page.get_attribute("#alert-stack .alert-run", "href")
            await save_screenshot(page, "make-run-staff.png")
            admin = await page.goto(server.url + "/admin/")
            admin_heading = await page.text_content("#content h1")
    finally:
        stop(process)

    log = log_path.read_text()
    assert printed is not None, log
    assert printed.group(1) == f"{server.url}/staff/"
    assert printed.group(2) == password
    assert "pip install" not in log
    assert stack_before == []
    assert job.returncode == 1, job.stderr
    run_id = re.search(r"run (nightly-\w+) failed", job.stderr).group(1)
    assert run_link == f"{server.url}/staff/?run_id={run_id}&status=all"
    assert admin.status == 200
    assert admin_heading == "Site administration"
    assert (clone / "db.sqlite3").exists()
    assert watch.quiet, watch
    assert process.returncode is not None
