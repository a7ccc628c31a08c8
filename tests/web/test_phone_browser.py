"""Every page at phone and desktop widths, light and dark (item 16), and the link page's charts
read by pointer and keyboard (item 17): Debian's Chromium via Playwright, a real server.

At 390 px and 1280 px, in both colour schemes: no page scrolls sideways, the header is one row,
and chart text is drawn at 10 CSS px or more (an SVG scaled into a narrow column shrinks its text
with it: the 720-wide chart had its axis labels at 5 px on a phone). Screenshots go to
docs/screenshots when SCREENSHOTS=1, to the test's temporary folder otherwise.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import PAGE_TIMEOUT_MS, SCREENSHOTS, LiveServer, api_account, sign_in

LONG_REFERRER = "a-really-long-subdomain-for-campaigns.newsletter.example-publisher.co.uk"
# (address, the country geoip2fast places it in) and how many visits each makes
VISITORS = [("8.8.8.8", 7), ("81.2.69.1", 4), ("5.9.0.1", 3), ("200.160.2.3", 2), ("41.0.0.1", 1)]
PAGES = {
    "link": "/dashboard/links/phone-demo",
    "overview": "/dashboard",
    "keys": "/dashboard/keys",
    "webhooks": "/dashboard/webhooks",
    "domains": "/dashboard/domains",
    "transfer": "/dashboard/transfer",
}
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
# The smallest text drawn in a visible chart, in CSS px: the computed font size times the
# chart's scale (its drawn width over its view box's).
SMALLEST_CHART_TEXT = """() => {
  const sizes = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;  // the variant CSS hides at this width
    const scale = box.width / svg.viewBox.baseVal.width;
    for (const text of svg.querySelectorAll("text")) {
      sizes.push(parseFloat(getComputedStyle(text).fontSize) * scale);
      sizes.push(text.getBoundingClientRect().height);
    }
  }
  return sizes.length ? Math.min(...sizes) : null;
}"""


def _visits(server: LiveServer, headers: dict[str, str]) -> int:
    with httpx.Client(base_url=server.url, timeout=LIVE_TIMEOUT) as client:
        created = client.post(
            "/api/links",
            json={"url": "https://example.com/landing", "alias": "phone-demo", "tags": ["Demo"]},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        total = 0
        for ip, n in VISITORS:
            for i in range(n):
                sent = {"user-agent": CHROME, "x-forwarded-for": ip}
                if i % 2 == 0:
                    sent["referer"] = f"https://{LONG_REFERRER}/issue/{i}"
                assert client.get("/phone-demo", headers=sent).status_code == 302
                total += 1
        deadline = time.monotonic() + 15
        while True:  # the flusher writes within CLICK_FLUSH_INTERVAL: poll, never sleep blind
            stats = client.get("/api/links/phone-demo/stats", headers=headers).json()
            if stats["total_clicks"] == total:
                return total
            assert time.monotonic() < deadline, f"clicks not written: {stats['total_clicks']}"
            time.sleep(0.05)


@pytest.fixture
def signed_in(live_server: LiveServer, browser: Any) -> dict[str, Any]:
    """An account with a link and visits from five countries; the browser's signed-in state."""
    email = "phone@example.com"
    headers = api_account(live_server, email)
    _visits(live_server, headers)
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=LIVE_TIMEOUT) as client:
        # Long names on the other pages, where a table or a card could push past the screen.
        key = {
            "name": "deploy-bot for the marketing-campaigns-2026 pipeline",
            "scopes": ["links:read"],
        }
        assert client.post("/api/keys", json=key).status_code == 201
        domain = {"hostname": "go.a-rather-long-brand-name-for-campaigns.example"}
        assert client.post("/api/domains", json=domain).status_code == 201
    context = browser.new_context(base_url=live_server.url)
    sign_in(context, live_server, email)
    state = context.storage_state()
    context.close()
    return state


def _shot(page: Any, name: str, tmp_path: Path) -> None:
    folder = SCREENSHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_every_page_fits_and_its_chart_text_stays_readable(
    live_server: LiveServer, browser: Any, signed_in: dict[str, Any], tmp_path: Path,
    width: int, scheme: str,
) -> None:  # fmt: skip
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": 844 if width < 600 else 900},
        color_scheme=scheme,
        storage_state=signed_in,
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    for name, path in PAGES.items():
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{name} at {width}px scrolls sideways: {scroll} > {inner}"
        header = page.locator(".topbar").bounding_box()
        assert header is not None and header["height"] < 70, f"{name}: header {header}"
        if name in ("link", "overview"):
            smallest = page.evaluate(SMALLEST_CHART_TEXT)
            assert smallest is not None and smallest >= 10, f"{name}: chart text {smallest}px"
        _shot(page, f"{name}-{width}-{scheme}", tmp_path)
    if width < 600:  # the menu opens, and its links fit the screen too
        page.get_by_text("Menu", exact=True).click()
        menu = page.get_by_role("navigation", name="Main")
        expect(menu.get_by_role("link", name="Webhooks")).to_be_visible()
        box = menu.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        _shot(page, f"menu-{width}-{scheme}", tmp_path)
    context.close()
    assert problems == []


def test_chart_values_on_hover_and_keyboard_with_shares_names_and_a_map(
    live_server: LiveServer, browser: Any, signed_in: dict[str, Any]
) -> None:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, storage_state=signed_in
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    page.goto(PAGES["link"])
    tip = page.locator(".chart-tip")
    chart = page.locator("svg.chart-timeseries.chart-wide")

    # Hover: the value of the bar under the pointer.
    chart.locator(".point").first.hover()
    expect(tip).to_be_visible()
    assert "17 clicks" in tip.inner_text() and "UTC" in tip.inner_text()

    # Keyboard: the chart is one tab stop, its values are read with the arrow keys.
    chart.focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused is not None and "17 clicks" in focused
    expect(tip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()

    # Breakdowns: shares, countries by name, and a long referrer whole somewhere.
    countries = page.locator("svg.chart-breakdown").nth(1)
    expect(countries).to_contain_text("United States")
    expect(countries).to_contain_text("7 · 41%")
    referrers = page.locator("svg.chart-breakdown").first
    row = referrers.locator(".point", has_text="a-really-long")
    assert LONG_REFERRER in (row.get_attribute("aria-label") or "")
    row.focus()  # a breakdown's rows are tab stops: the whole value shows on focus
    assert LONG_REFERRER in tip.inner_text()
    page.get_by_text("All 2 values").first.click()
    expect(page.locator(".breakdown-table td", has_text=LONG_REFERRER)).to_be_visible()

    # The map: the countries with clicks are drawn (the shapes came from /static/world.svg),
    # the busiest darkest.
    shapes = page.locator(".world-map use.country")
    expect(shapes).to_have_count(len(VISITORS))
    us = page.locator('.world-map use.country[href$="#US"]')
    assert "level-5" in (us.get_attribute("class") or "")
    box = us.bounding_box()
    assert box is not None and box["width"] > 50
    us.hover(position={"x": box["width"] * 0.75, "y": box["height"] * 0.6})  # the mainland
    assert "United States: 7 clicks (41%)" in tip.inner_text()
    context.close()
