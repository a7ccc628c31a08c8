"""Workspaces in a real browser (Debian's Chromium via Playwright): an owner makes a workspace
on the workspace page, makes a link there and an invitation link; a second person opens the
link, joins as a viewer, sees the shared link, and is refused a new one; the owner makes them
an editor, and then they can. Both storage modes."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import PAGE_TIMEOUT_MS, LiveServer, api_account, sign_in


def _context(browser: Any, server: LiveServer, problems: list[str]) -> Any:
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.on("weberror", lambda error: problems.append(f"script error: {error.error}"))
    context.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return context


def test_a_team_shares_links_through_a_workspace(live_server: LiveServer, browser: Any) -> None:
    base, problems = live_server.url, []
    api_account(live_server, "owner@example.com")
    api_account(live_server, "colleague@example.com")
    owner = sign_in(_context(browser, live_server, problems), live_server, "owner@example.com")

    # A new workspace from the workspace page: its own dashboard, named in the header.
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Workspace").click()
    expect(owner).to_have_url(f"{base}/dashboard/workspace")
    owner.get_by_label("Name", exact=True).last.fill("Growth team")
    owner.get_by_label(re.compile(r"^Slug")).fill("growth")
    owner.get_by_role("button", name="Create workspace").click()
    expect(owner).to_have_url(f"{base}/w/growth/dashboard")
    expect(owner.get_by_role("status")).to_contain_text("Workspace Growth team is ready")
    expect(owner.get_by_role("heading", name="No links yet")).to_be_visible()

    owner.get_by_label("Long URL").fill("https://example.com/launch-plan")
    owner.get_by_label("Custom alias").fill("launch-plan")
    owner.get_by_role("button", name="Shorten").click()
    expect(owner).to_have_url(f"{base}/w/growth/dashboard")
    expect(owner.locator("table.links tbody tr", has_text="launch-plan")).to_have_count(1)

    # An invitation link for a viewer, shown once.
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="growth").click()
    expect(owner).to_have_url(f"{base}/w/growth/dashboard/workspace")
    owner.get_by_label("Role", exact=True).select_option("viewer")
    owner.get_by_role("button", name="Create invitation link").click()
    link = owner.locator("#invitation-url").inner_text()
    assert link.startswith(f"{base}/dashboard/invitations/")

    # The colleague follows it, joins, and lands in the workspace as a viewer.
    colleague = sign_in(
        _context(browser, live_server, problems), live_server, "colleague@example.com"
    )
    colleague.goto(link)
    expect(colleague.get_by_role("heading", name="Join “Growth team”")).to_be_visible()
    colleague.get_by_role("button", name="Join Growth team").click()
    expect(colleague).to_have_url(f"{base}/w/growth/dashboard")
    expect(colleague.get_by_role("status")).to_contain_text("You joined Growth team as viewer")
    expect(colleague.locator("table.links tbody tr", has_text="launch-plan")).to_have_count(1)
    # Their own dashboard is not the team's.
    colleague.goto("/dashboard")
    expect(colleague.locator("table.links tbody tr", has_text="launch-plan")).to_have_count(0)

    # A viewer may not add a link: the page says why.
    colleague.goto("/w/growth/dashboard")
    colleague.get_by_label("Long URL").fill("https://example.com/viewer-try")
    colleague.get_by_role("button", name="Shorten").click()
    expect(
        colleague.get_by_text(re.compile("role in the workspace 'growth' is viewer"))
    ).to_be_visible()

    # The owner makes them an editor; now they can.
    owner.reload()
    row = owner.locator("tr", has_text="colleague@example.com")
    row.get_by_label("Role of colleague@example.com", exact=True).select_option("editor")
    row.get_by_role("button", name="Change the role of colleague@example.com").click()
    expect(owner.get_by_role("status")).to_contain_text("colleague@example.com is now editor")
    colleague.goto("/w/growth/dashboard")
    colleague.get_by_label("Long URL").fill("https://example.com/editor-made")
    colleague.get_by_label("Custom alias").fill("editor-made")
    colleague.get_by_role("button", name="Shorten").click()
    expect(colleague).to_have_url(f"{base}/w/growth/dashboard")
    expect(colleague.locator("table.links tbody tr", has_text="editor-made")).to_have_count(1)
    owner.goto("/w/growth/dashboard")
    expect(owner.locator("table.links tbody tr", has_text="editor-made")).to_have_count(1)

    # An editor's link, not wanted after all: it waits in the list (the accepted one does
    # not), and its Revoke button makes the link open nothing.
    owner.goto("/w/growth/dashboard/workspace")
    owner.get_by_label("Role", exact=True).select_option("editor")
    owner.get_by_role("button", name="Create invitation link").click()
    spare = owner.locator("#invitation-url").inner_text()
    waiting = owner.locator("li[data-invitation]", has_text="editor")
    expect(waiting).to_have_count(1)
    waiting.get_by_role("button", name="Revoke the editor invitation").click()
    expect(owner.get_by_role("status")).to_contain_text("its link opens nothing now")
    expect(owner.locator("li[data-invitation]", has_text="editor")).to_have_count(0)
    colleague.goto(spare)
    expect(colleague.get_by_text(re.compile("invitation not found"))).to_be_visible()
    assert problems == []
