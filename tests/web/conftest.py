"""Fixtures for the dashboard: a real server on a free port, a target site, and Chromium."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from shortener.config import Settings
from shortener.main import create_app
from tests.conftest import LIVE_TIMEOUT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# What a page action may take before the test fails: generous, since a loaded CI machine can
# stall a page for seconds; it costs nothing while the page answers at once. 20 s was not
# enough twice in one day of full runs: a live server in the same xdist worker as the browser
# answered a new account's dashboard in 22.8 s (its sign-up page in 0.4 s, the same page in
# ~0.1 s when the test runs alone), and another left /docs unanswered for 20 s. Cause not
# found (the tests pass alone every time); a real hang still fails, after a minute.
PAGE_TIMEOUT_MS = 60_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, timeout: float = LIVE_TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.02)


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    """Settings a test module wants on its live server: override this fixture there."""
    return {}


@pytest.fixture
def live_server(make_settings: Any, live_overrides: dict[str, Any]) -> Iterator[LiveServer]:
    """The whole app served by uvicorn in a thread, in this test's storage mode."""
    port = free_port()
    settings = make_settings(base_url=f"http://127.0.0.1:{port}", **live_overrides)
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="server start")
    yield LiveServer(f"http://127.0.0.1:{port}", settings)
    server.should_exit = True
    thread.join(timeout=15)


class _Landing(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Landing</title><h1>Landing page</h1>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def target_site() -> Iterator[str]:
    """Where the short links point: `localhost`, a host other than the service's 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser() -> Iterator[Any]:
    # Per test, not per session: the sync API runs its own event loop, which must not outlive
    # the test and meet pytest-asyncio's loops in the async tests.
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/test does)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PAGE_TIMEOUT_MS)  # assertions wait as long as page actions
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def new_account(live_server: LiveServer, browser: Any) -> Iterator[Any]:
    """`open(javascript=True)`: a page signed in as a new account on the live server. At the
    end, the pages must have run without a script error or a Content Security Policy refusal."""
    from playwright.sync_api import expect

    problems: list[str] = []
    contexts: list[Any] = []

    def open_page(javascript: bool = True) -> Any:
        context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        page.goto("/register")
        page.get_by_label("Email").fill(f"user{len(contexts)}@example.com")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Create account").click()
        expect(page).to_have_url(f"{live_server.url}/dashboard")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems == []


@pytest.fixture
def screenshot() -> Any:
    """page -> name -> PNG in docs/screenshots, only when SCREENSHOTS=1 (so CI writes nothing)."""

    def take(page: Any, name: str) -> None:
        if os.environ.get("SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


ACCOUNT_PASSWORD = "correct horse battery"


def api_account(server: LiveServer, email: str) -> dict[str, str]:
    """A new account made through the API; the headers that act as it."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=LIVE_TIMEOUT) as client:
        made = client.post(
            "/api/auth/register", json={"email": email, "password": ACCOUNT_PASSWORD}
        )
        assert made.status_code == 201, made.text
        token = client.post(
            "/api/auth/token", data={"username": email, "password": ACCOUNT_PASSWORD}
        ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def sign_in(context: Any, server: LiveServer, email: str) -> Any:
    """A page of `context` signed in as `email` through the sign-in form."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/dashboard")
    return page
