"""The link page's edit form in a browser: a new key, and the expiry in the browser's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import PAGE_TIMEOUT_MS, LiveServer, api_account, sign_in

ZONE = "America/New_York"  # UTC-5 in January


@pytest.fixture
def account(live_server: LiveServer) -> dict[str, str]:
    """A new account with the link `edit-me`; the headers that act as it."""
    email = "edit@example.com"
    headers = api_account(live_server, email)
    made = httpx.post(
        f"{live_server.url}/api/links",
        json={"url": "https://example.com/x", "alias": "edit-me"},
        headers=headers,
        timeout=LIVE_TIMEOUT,
    )
    assert made.status_code == 201, made.text
    return {"email": email, **headers}


def _page(browser: Any, server: LiveServer, email: str, *, javascript: bool) -> Any:
    context = browser.new_context(
        base_url=server.url, timezone_id=ZONE, java_script_enabled=javascript
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return sign_in(context, server, email)


def _link(server: LiveServer, headers: dict[str, str], key: str) -> httpx.Response:
    auth = {"Authorization": headers["Authorization"]}
    return httpx.get(f"{server.url}/api/links/{key}", headers=auth, timeout=LIVE_TIMEOUT)


def test_expiry_is_typed_in_the_browsers_zone_and_stored_in_utc(
    live_server: LiveServer, browser: Any, account: dict[str, str]
) -> None:
    page = _page(browser, live_server, account["email"], javascript=True)
    page.goto("/dashboard/links/edit-me")
    expiry = page.get_by_label(f"Expires at ({ZONE})")  # the label names the zone
    expiry.fill("2031-01-15T10:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Changes saved")
    stored = datetime.fromisoformat(_link(live_server, account, "edit-me").json()["expires_at"])
    assert stored.isoformat() == "2031-01-15T15:00:00+00:00"  # 10:00 in New York is 15:00 UTC
    # Shown again in the browser's zone, as typed.
    expect(page.get_by_label(f"Expires at ({ZONE})")).to_have_value("2031-01-15T10:00")
    page.context.close()


def test_without_script_the_form_says_utc_and_takes_utc(
    live_server: LiveServer, browser: Any, account: dict[str, str]
) -> None:
    page = _page(browser, live_server, account["email"], javascript=False)
    page.goto("/dashboard/links/edit-me")
    page.get_by_label("Expires at (UTC)").fill("2031-01-15T10:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Changes saved")
    stored = datetime.fromisoformat(_link(live_server, account, "edit-me").json()["expires_at"])
    assert stored.isoformat() == "2031-01-15T10:00:00+00:00"
    page.context.close()


def test_the_key_changes_from_the_form_and_a_taken_one_is_said_beside_it(
    live_server: LiveServer, browser: Any, account: dict[str, str]
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=LIVE_TIMEOUT) as client:
        auth = {"Authorization": account["Authorization"]}
        client.post("/api/links", json={"url": "https://e.com/", "alias": "taken"}, headers=auth)
    page = _page(browser, live_server, account["email"], javascript=True)
    page.goto("/dashboard/links/edit-me")
    page.locator("#edit-key").fill("taken")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#edit-key-error")).to_contain_text("already taken")

    page.locator("#edit-key").fill("edited")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/links/edited")
    expect(page.get_by_role("status")).to_contain_text("Changes saved")
    assert httpx.get(f"{live_server.url}/edit-me", timeout=LIVE_TIMEOUT).status_code == 404
    assert httpx.get(f"{live_server.url}/edited", timeout=LIVE_TIMEOUT).status_code == 302
    page.context.close()
