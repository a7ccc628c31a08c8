"""The dashboard in a real browser (Debian's Chromium via Playwright), against a real server."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import PAGE_TIMEOUT_MS, LiveServer, wait_until

PASSWORD = "correct horse battery"
XSS_TITLE = "<script>alert(1)</script>"


def _visitor_clicks(server: LiveServer, key: str) -> None:
    """A spread of visitors for the screenshots: browsers, systems, referrers."""
    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    safari = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5"
    agents = [
        f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} Chrome/126.0 Safari/537.36",
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) {safari} Mobile/15E148",
        f"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) {safari} Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {webkit} Chrome/126.0 Mobile Safari/537.36",
    ]
    referrers = ["https://news.ycombinator.com/", "https://t.co/x", "https://www.google.com/", ""]
    with httpx.Client(base_url=server.url, timeout=LIVE_TIMEOUT) as client:
        for i in range(23):
            headers = {"user-agent": agents[i % len(agents)], "x-forwarded-for": f"81.2.69.{i}"}
            if referrers[i % len(referrers)]:
                headers["referer"] = referrers[i % len(referrers)]
            assert client.get(f"/{key}", headers=headers).status_code == 302


def test_dashboard_journey(
    live_server: LiveServer, target_site: str, browser: Any, screenshot: Any
) -> None:
    base = live_server.url
    # Headless Chromium says "HeadlessChrome", which the click enrichment rightly calls a bot
    # (and statistics leave out); a person's browser says Chrome.
    user_agent = browser.new_page().evaluate("navigator.userAgent").replace("Headless", "")
    context = browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 900}, user_agent=user_agent
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    dialogs: list[str] = []
    confirmations: list[str] = []

    def on_dialog(dialog: Any) -> None:
        # Our own questions before deleting or revoking are accepted; any other dialog is a
        # script run from user input.
        if dialog.type == "confirm" and dialog.message.startswith(("Delete ", "Revoke ")):
            confirmations.append(dialog.message)
            dialog.accept()
        else:
            dialogs.append(dialog.message)
            dialog.dismiss()

    page.on("dialog", on_dialog)
    csp_violations: list[str] = []
    page.on(
        "console",
        lambda msg: (
            csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )

    # Signed out: the dashboard sends us to sign in, remembering where we were going.
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next=/dashboard$"))
    screenshot(page, "login")

    # Register; we arrive signed in on an empty dashboard.
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_contain_text("at least 8 characters")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{base}/dashboard")
    expect(page.get_by_role("status")).to_contain_text("Welcome")
    expect(page.get_by_role("heading", name="No links yet")).to_be_visible()

    # Sign out and back in through the login form.
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("status")).to_contain_text("signed out")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/dashboard")

    # Create a link from the form: first a taken-by-the-system alias, shown beside the field.
    target = f"{target_site}/landing"
    page.get_by_label("Long URL").fill(target)
    page.get_by_label("Custom alias").fill("dashboard")
    page.get_by_role("button", name="Shorten").click()
    expect(page.locator("#alias-error")).to_contain_text("reserved")
    page.get_by_label("Custom alias").fill("launch")
    page.get_by_label("Title").fill(XSS_TITLE)
    page.get_by_label("Tags").fill("launch, email")
    page.get_by_role("button", name="Shorten").click()
    expect(page).to_have_url(f"{base}/dashboard")
    short_url = f"{base}/launch"
    expect(page.get_by_role("status")).to_contain_text(f"Created {short_url}")
    row = page.locator("table.links tbody tr", has_text="launch")
    expect(row).to_have_count(1)
    expect(row.locator(".title-text")).to_have_text(XSS_TITLE)  # shown as text, not run
    expect(row).to_contain_text(target)
    row.get_by_role("button", name=re.compile("Copy")).click()
    assert page.evaluate("navigator.clipboard.readText()") == short_url

    # Follow the short URL in the browser: it lands on the target.
    page.goto(short_url)
    expect(page).to_have_url(target)
    expect(page.get_by_role("heading", name="Landing page")).to_be_visible()

    # The click shows up in the link's chart (the flusher writes it within a moment).
    page.goto("/dashboard/links/launch")
    wait_until(
        lambda: page.reload() is not None and page.locator("#total-clicks").inner_text() == "1",
        what="the click on the link page",
    )
    # (The chart is drawn twice, for wide and narrow screens: CSS shows one.)
    expect(page.locator("svg.chart-timeseries.chart-wide rect.bar")).to_have_count(1)
    bar = page.locator("svg.chart-timeseries.chart-wide .point")
    expect(bar).to_have_attribute("aria-label", re.compile(r"UTC: 1 click$"))
    expect(page.locator("svg.chart-breakdown").first).to_be_visible()
    page.get_by_role("link", name="24 hours").click()
    expect(page).to_have_url(re.compile(r"window=24h&interval=hour"))
    expect(page.locator("svg.chart-timeseries.chart-wide rect.bar")).to_have_count(1)
    expect(page.locator("#total-clicks")).to_have_text("1")
    if screenshot_wanted():
        _visitor_clicks(live_server, "launch")
        for extra in ("https://example.com/docs/getting-started", "https://example.org/pricing"):
            page.goto("/dashboard")
            page.get_by_label("Long URL").fill(extra)
            page.get_by_role("button", name="Shorten").click()
        page.goto("/dashboard/links/launch")
        wait_until(
            lambda: (
                page.reload() is not None and page.locator("#total-clicks").inner_text() == "24"
            ),
            what="the visitor clicks",
        )

    # Edit it.
    page.get_by_label("Title").fill("Launch announcement")
    page.get_by_label("Click limit").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{base}/dashboard/links/launch")
    expect(page.get_by_role("status")).to_contain_text("Changes saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Launch announcement")
    screenshot(page, "link")
    page.goto("/dashboard")
    screenshot(page, "dashboard")

    # A post without the CSRF token, with this browser's own cookies, is refused.
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    refused = httpx.post(
        f"{base}/dashboard/links/launch/delete", cookies=cookies, data={}, timeout=LIVE_TIMEOUT
    )
    assert refused.status_code == 403
    forged = httpx.post(
        f"{base}/dashboard/links/launch/delete",
        cookies=cookies,
        data={"csrf_token": "0" * 64},
        timeout=LIVE_TIMEOUT,
    )
    assert forged.status_code == 403

    # Delete it: gone from the list, and the short URL answers 404.
    page.goto("/dashboard/links/launch")
    page.get_by_role("link", name="Delete launch").click()  # confirm() asks, then it posts
    expect(page).to_have_url(f"{base}/dashboard")
    expect(page.get_by_role("status")).to_contain_text("Deleted")
    expect(page.locator("table.links tbody tr", has_text="launch")).to_have_count(0)
    assert httpx.get(short_url, timeout=LIVE_TIMEOUT).status_code == 404

    # An API key: created from the form, shown once, works against the API, then revoked.
    page.get_by_role("navigation").get_by_role("link", name="API keys").click()
    expect(page).to_have_url(f"{base}/dashboard/keys")
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
    page.get_by_label("Name").fill("deploy script")
    page.get_by_label("links:read").check()
    page.get_by_role("button", name="Create key").click()
    shown = page.locator("#new-key")
    expect(shown).to_have_text(re.compile(r"^sk_"))
    key = shown.inner_text()
    page.locator(".secret-once").get_by_role("button", name=re.compile("Copy")).click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert (
        httpx.get(f"{base}/api/links", headers={"x-api-key": key}, timeout=LIVE_TIMEOUT).status_code
        == 200
    )
    row = page.locator("table.links tbody tr", has_text="deploy script")
    expect(row).to_contain_text("links:read")
    page.goto("/dashboard/keys")  # shown once: not on the page after that
    expect(page.locator("#new-key")).to_have_count(0)
    row.get_by_role("link", name="Revoke deploy script").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
    assert (
        httpx.get(f"{base}/api/links", headers={"x-api-key": key}, timeout=LIVE_TIMEOUT).status_code
        == 401
    )

    # Log out: the dashboard is closed again.
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{base}/login")
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    assert dialogs == [], "a script ran from user input"
    assert [c.split("?")[0] for c in confirmations] == [
        f"Delete {short_url}",
        "Revoke the key “deploy script”",
    ]
    assert csp_violations == []
    context.close()


def screenshot_wanted() -> bool:
    import os

    return os.environ.get("SCREENSHOTS") == "1"
