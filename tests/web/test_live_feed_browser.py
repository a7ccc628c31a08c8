"""The link page's live feed in Chromium: a visit in one tab shows up in the other."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import PAGE_TIMEOUT_MS, LiveServer

PASSWORD = "correct horse battery"


def test_the_link_page_follows_clicks_live(
    live_server: LiveServer, target_site: str, browser: Any
) -> None:
    base = live_server.url
    with httpx.Client(base_url=base, timeout=LIVE_TIMEOUT) as api:
        email = "live@example.com"
        account = {"email": email, "password": PASSWORD}
        assert api.post("/api/auth/register", json=account).is_success
        signed_in = api.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        token = signed_in.json()["access_token"]
        link = api.post(
            "/api/links",
            json={"url": f"{target_site}/landing", "title": "Live one"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()

    # A person's Chrome, not "HeadlessChrome" (which the enrichment rightly calls a bot).
    user_agent = browser.new_page().evaluate("navigator.userAgent").replace("Headless", "")
    owner = browser.new_context(base_url=base, user_agent=user_agent)
    owner.set_default_timeout(PAGE_TIMEOUT_MS)
    owner.add_cookies([{"name": "session", "value": token, "url": base}])
    page = owner.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"/dashboard/links/{link['key']}")
    total = page.locator("#live-total .value")
    visits = page.locator("#live-visits li.visit")
    expect(total).to_have_text("0")
    expect(page.locator("#live-visits")).to_contain_text("No visits yet.")
    expect(page.locator("#live-status")).to_have_text("live")

    # Someone follows the short link, in a browser of their own, coming from another site.
    visitor = browser.new_context(user_agent=user_agent)
    tab = visitor.new_page()
    tab.goto(link["short_url"], referer="https://news.example.org/item?id=1")
    expect(tab.get_by_role("heading", name="Landing page")).to_be_visible()

    expect(total).to_have_text("1")
    expect(visits).to_have_count(1)
    expect(visits.first).to_contain_text(re.compile(r"Chrome on Linux · from news\.example\.org"))
    expect(page.locator("#live-visits")).not_to_contain_text("No visits yet.")

    # Two more: the newest comes first, and the count follows.
    tab.goto(link["short_url"])
    tab.goto(link["short_url"], referer="https://mail.example.net/")
    expect(total).to_have_text("3")
    expect(visits).to_have_count(3)
    expect(visits.first).to_contain_text("from mail.example.net")
    expect(visits.nth(1)).to_contain_text("direct")

    # Reloaded, the page lists the same visits from the database (the list needs no script).
    page.reload()
    expect(total).to_have_text("3")
    expect(visits).to_have_count(3)
    expect(visits.first).to_contain_text("from mail.example.net")
    assert problems == []
    visitor.close()
    owner.close()
