"""The links list in Chromium: deleting asks first with and without JavaScript, a bulk action
on selected links, numbered pages and the jump, each filter, a custom-domain link's page, and
the list as cards on a 390 px phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.factories import PASSWORD
from tests.web.conftest import LiveServer
from tests.web.test_domains_browser import HOST, RECORDS, live_overrides, name_server

__all__ = ["live_overrides", "name_server"]  # the domain proof's fixtures, used here too


def api_headers(base: str, email: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/api/auth/token",
        data={"username": email, "password": PASSWORD},
        timeout=LIVE_TIMEOUT,
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def add_links(base: str, headers: dict[str, str], *bodies: dict[str, Any]) -> None:
    for body in bodies:
        created = httpx.post(f"{base}/api/links", json=body, headers=headers, timeout=LIVE_TIMEOUT)
        assert created.status_code == 201, created.text


def email_of(page: Any) -> str:
    return str(page.locator(".who:visible").inner_text())


def rows(page: Any) -> Any:
    return page.locator("table.links-table tbody tr")


def test_deleting_asks_first_without_and_with_javascript(
    live_server: LiveServer, new_account: Any
) -> None:
    base = live_server.url
    plain = new_account(javascript=False)
    headers = api_headers(base, email_of(plain))
    add_links(base, headers, *({"url": f"https://example.com/{k}", "alias": k * 3} for k in "abc"))

    # Without JavaScript: the button is a link to a page that asks; Cancel keeps the link.
    plain.goto("/dashboard")
    plain.get_by_role("link", name="Delete aaa").click()
    expect(plain).to_have_url(f"{base}/dashboard/links/aaa/delete")
    expect(plain.get_by_role("heading", name=f"Delete {base}/aaa?")).to_be_visible()
    plain.get_by_role("link", name="Cancel").click()
    expect(plain).to_have_url(f"{base}/dashboard/links/aaa")
    plain.get_by_role("link", name="Delete aaa").click()
    plain.get_by_role("button", name="Delete aaa").click()
    expect(plain).to_have_url(f"{base}/dashboard")
    expect(plain.get_by_role("status")).to_contain_text(f"Deleted {base}/aaa.")
    expect(rows(plain)).to_have_count(2)

    # With JavaScript: confirm() asks in place; "no" keeps the link, "yes" deletes it.
    page = new_account()
    headers = api_headers(base, email_of(page))
    add_links(base, headers, {"url": "https://example.com/j", "alias": "jay"})
    page.goto("/dashboard")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.get_by_role("link", name="Delete jay").click()
    expect(page).to_have_url(f"{base}/dashboard")
    expect(rows(page)).to_have_count(1)
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    page.get_by_role("link", name="Delete jay").click()
    expect(page.get_by_role("status")).to_contain_text(f"Deleted {base}/jay.")
    assert asked == [f"Delete {base}/jay? This cannot be undone."] * 2
    expect(page.get_by_role("heading", name="No links yet")).to_be_visible()

    # Revoking a key asks the same way, without JavaScript too.
    plain.goto("/dashboard/keys")
    plain.get_by_label("Name").fill("deploy")
    plain.get_by_role("button", name="Create key").click()
    plain.goto("/dashboard/keys")
    plain.get_by_role("link", name="Revoke deploy").click()
    expect(plain.get_by_role("heading", name="Revoke the key “deploy”?")).to_be_visible()
    plain.get_by_role("button", name="Revoke deploy").click()
    expect(plain.get_by_role("status")).to_contain_text("revoked")


def test_bulk_action_on_selected_links(live_server: LiveServer, new_account: Any) -> None:
    base = live_server.url
    page = new_account()
    headers = api_headers(base, email_of(page))
    add_links(
        base, headers, *({"url": f"https://example.com/{i}", "alias": f"k-{i}"} for i in range(4))
    )
    page.goto("/dashboard")
    page.get_by_label("Select 127.0.0.1/k-1").check()
    page.get_by_label("Select 127.0.0.1/k-2").check()
    page.get_by_label("With the selected links").select_option("add_tag")
    page.get_by_label("Tag to add or remove").fill("launch")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_have_text("Tagged 2 links.")
    for key, tagged in (("k-0", 0), ("k-1", 1), ("k-2", 1), ("k-3", 0)):
        row = rows(page).filter(has=page.get_by_role("link", name=f"Details of {key}"))
        expect(row.locator(".chip", has_text="launch")).to_have_count(tagged)

    # "Select all on this page", then a bulk delete that confirm() asks about.
    page.get_by_label("Select all on this page").check()
    page.get_by_label("With the selected links").select_option("delete")
    page.once("dialog", lambda d: d.accept() if d.message.startswith("Delete 4 links?") else None)
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status")).to_have_text("Deleted 4 links.")
    expect(page.get_by_role("heading", name="No links yet")).to_be_visible()


def test_bulk_delete_without_javascript_asks_on_a_page(
    live_server: LiveServer, new_account: Any
) -> None:
    base = live_server.url
    page = new_account(javascript=False)
    headers = api_headers(base, email_of(page))
    add_links(
        base, headers, *({"url": f"https://example.com/{i}", "alias": f"k-{i}"} for i in range(3))
    )
    page.goto("/dashboard")
    page.get_by_role("link", name="Select all on this page").click()
    expect(page.get_by_label("Select 127.0.0.1/k-0")).to_be_checked()
    page.get_by_label("Select 127.0.0.1/k-0").uncheck()
    page.get_by_label("With the selected links").select_option("delete")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("heading", name="Delete 2 links?")).to_be_visible()
    page.get_by_role("button", name="Delete 2 links").click()
    expect(page.get_by_role("status")).to_have_text("Deleted 2 links.")
    expect(rows(page)).to_have_count(1)


def test_pages_jump_and_filters(
    live_server: LiveServer, new_account: Any, name_server: str
) -> None:
    base = live_server.url
    page = new_account()
    headers = api_headers(base, email_of(page))
    # A domain of this user's, proven by DNS, with one link on it.
    added = httpx.post(
        f"{base}/api/domains", json={"hostname": HOST}, headers=headers, timeout=LIVE_TIMEOUT
    ).json()
    RECORDS[added["verification"]["dns_name"]] = added["verification"]["dns_value"]
    proven = httpx.post(
        f"{base}/api/domains/{added['id']}/verify", headers=headers, timeout=LIVE_TIMEOUT
    )
    assert proven.status_code == 200, proven.text
    add_links(
        base,
        headers,
        *({"url": f"https://example.com/{i}", "alias": f"p-{i:02d}"} for i in range(45)),
        {"url": "https://example.com/t", "alias": "tagged", "tags": ["launch"]},
        {"url": "https://example.com/d", "alias": "on-domain", "domain": HOST},
    )
    page.goto("/dashboard")
    expect(page.locator("#links-count")).to_have_text("47 links")
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav).to_contain_text("Page 1 of 3")
    nav.get_by_role("link", name="Page 3").click()
    expect(page).to_have_url(f"{base}/dashboard?page=3")
    expect(rows(page)).to_have_count(7)
    page.get_by_label("Go to page").fill("2")
    page.get_by_role("button", name="Go").click()
    expect(page).to_have_url(f"{base}/dashboard?page=2")
    expect(page.get_by_role("link", name="Details of p-24")).to_be_visible()

    # Search, then a jump: the filter stays in the URL.
    page.get_by_label("Search").fill("p-")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#links-count")).to_have_text("45 links matching")
    page.get_by_label("Go to page").fill("3")
    page.get_by_role("button", name="Go").click()
    expect(page).to_have_url(f"{base}/dashboard?q=p-&page=3")
    expect(rows(page)).to_have_count(5)
    page.get_by_role("link", name="Clear").click()

    page.get_by_label("Tag", exact=True).fill("launch")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"tag=launch"))
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name="Details of tagged")).to_be_visible()
    page.get_by_role("link", name="Clear").click()

    page.get_by_label("On domain").select_option(HOST)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"[?&]domain={re.escape(HOST)}(&|$)"))
    expect(rows(page)).to_have_count(1)

    # A custom-domain link's page opens from the list, with its QR code and edit form.
    page.get_by_role("link", name="Details of on-domain").click()
    expect(page).to_have_url(f"{base}/dashboard/links/on-domain?domain={HOST}")
    expect(page.locator("#short-url")).to_have_text(f"http://{HOST}/on-domain")
    # The QR code (?domain= too) loads: an image that failed has no natural width.
    page.wait_for_function(
        "() => { const i = document.querySelector('.qr img');"
        " return i.complete && i.naturalWidth > 0 }"
    )
    page.get_by_label("Title").fill("On a domain")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{base}/dashboard/links/on-domain?domain={HOST}")
    expect(page.get_by_role("heading", name="On a domain")).to_be_visible()

    page.goto("/dashboard")
    page.get_by_label("Select 127.0.0.1/p-44").check()
    page.get_by_label("With the selected links").select_option("deactivate")
    page.get_by_role("button", name="Apply to selected").click()
    page.get_by_label("Status").select_option("inactive")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]status=inactive(&|$)"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page)).to_contain_text("inactive")
    page.get_by_label("Status").select_option("expired")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="No links match")).to_be_visible()
    page.get_by_label("Status").select_option("active")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#links-count")).to_have_text("46 links matching")


def test_the_list_on_a_phone_shows_every_field(
    live_server: LiveServer, browser: Any, new_account: Any, tmp_path: Path
) -> None:
    base = live_server.url
    page = new_account()
    headers = api_headers(base, email_of(page))
    add_links(
        base,
        headers,
        {
            "url": "https://example.com/a/rather/long/path/that/would/not/fit/on/a/phone",
            "alias": "phone-link",
            "title": "A link seen on a phone",
            "tags": ["launch", "email"],
            "max_clicks": 1500,
        },
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/dashboard")
    shot = tmp_path / "links-390.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    row = rows(page).first
    tops = []
    for label in ("Select", "Short link", "Target", "Clicks", "Created", "Actions"):
        cell = row.locator(f'td[data-label="{label}"]')
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (label, box)
        tops.append(box["y"])
    # A card: the cells are stacked one below the other, not side by side as columns.
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    expect(page.locator("table.links-table thead th").first).not_to_be_in_viewport()
    for text in ("phone-link", "A link seen on a phone", "launch", "0 of 1,500", "Edit", "QR"):
        item = row.get_by_text(text, exact=True).first
        box = item.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (text, box)
    # Nothing makes the page wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
