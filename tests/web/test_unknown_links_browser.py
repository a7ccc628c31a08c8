"""The "Unknown links" page in Chromium: only admins have it; it shows the chart and the
most-asked paths of the 404s the redirect path answered."""

from __future__ import annotations

import asyncio
import threading

import httpx
from sqlalchemy import update
from sqlalchemy.pool import NullPool

from shortener.db import make_engine
from shortener.models import User
from tests.clicks import traffic as ua
from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import wait_until


def _make_admin(database_url: str, email: str) -> None:
    async def promote() -> None:
        engine = make_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(User).where(User.email == email).values(is_admin=True))
        finally:
            await engine.dispose()

    # Playwright's sync API owns this thread's event loop: run ours on a thread of its own.
    thread = threading.Thread(target=lambda: asyncio.run(promote()))
    thread.start()
    thread.join()


def test_admins_see_unknown_links_with_chart_and_paths(  # type: ignore[no-untyped-def]
    live_server, new_account, screenshot
) -> None:
    from playwright.sync_api import expect

    page = new_account()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Unknown links")).to_have_count(0)
    refused = page.goto("/dashboard/unknown-links")
    assert refused is not None and refused.status == 403

    _make_admin(live_server.settings.database_url, "user1@example.com")
    with httpx.Client(
        base_url=live_server.url, headers={"User-Agent": ua.FIREFOX_LINUX}, timeout=LIVE_TIMEOUT
    ) as web:
        for path in ("/wp-login.php", "/wp-login.php", "/wp-login.php", "/typo"):
            assert web.get(path).status_code == 404

    page.goto("/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Unknown links").click()
    expect(page.get_by_role("heading", name="Visits to unknown links")).to_be_visible()

    def shown() -> bool:
        page.reload()
        return bool(page.locator("#orphan-total").inner_text() == "4")

    wait_until(shown, what="the visits on the page")
    rows = page.locator("#orphan-paths tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("/wp-login.php")
    expect(rows.first).to_contain_text("3")
    expect(page.locator("svg.chart-timeseries.chart-wide rect.bar")).to_have_count(1)
    expect(page.locator("#orphan-dropped")).to_have_text("0")

    # The domain filter narrows to one host name (the live server's, port dropped).
    page.get_by_label("Domain", exact=True).fill("elsewhere.example")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#orphan-total")).to_have_text("0")
    expect(page.locator("#orphan-paths-empty")).to_be_visible()
    page.get_by_label("Domain", exact=True).fill("127.0.0.1")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#orphan-total")).to_have_text("4")
    screenshot(page, "unknown-links")
