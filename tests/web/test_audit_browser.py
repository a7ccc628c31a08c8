"""The audit log page in Chromium: only admins have it (header link and page); it lists the
events and its filters narrow them."""

from __future__ import annotations

from tests.web.test_unknown_links_browser import _make_admin


def test_admins_read_the_audit_log(  # type: ignore[no-untyped-def]
    live_server, new_account, screenshot
) -> None:
    from playwright.sync_api import expect

    page = new_account()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    refused = page.goto("/dashboard/audit")
    assert refused is not None and refused.status == 403

    _make_admin(live_server.settings.database_url, "user1@example.com")
    page.goto("/dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = page.locator("table.audit-events tbody tr")
    expect(rows.filter(has_text="auth.sign_in")).to_have_count(1)  # registering signed in
    expect(rows.first).to_contain_text("user1@example.com")
    expect(rows.first).to_contain_text("127.0.0.0/24")

    page.get_by_label("Action").select_option("domain.deleted")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No event matches.")).to_be_visible()
    page.get_by_label("Action").select_option("auth.sign_in")
    page.get_by_label("Actor").fill("user1@example.com")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="1 event")).to_be_visible()
    assert "action=auth.sign_in" in page.url
    screenshot(page, "audit-log")
