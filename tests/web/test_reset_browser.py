"""Password reset end to end in a real browser (Debian's Chromium via Playwright) against a
real server and a real SMTP server: ask on the sign-in page, read the mail, follow its link,
set the password, sign in with it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.mailbox import Mailbox, link_in
from tests.web.conftest import PAGE_TIMEOUT_MS, LiveServer

OLD, NEW = "correct horse battery", "a brand new passphrase"
# The field, not the form's region ("Choose a new password").
NEW_PASSWORD_FIELD = re.compile(r"^New password")


@pytest.fixture
def live_overrides(mailbox: Mailbox) -> dict[str, Any]:
    return {"smtp_url": mailbox.url}


def test_forgotten_password_journey(
    live_server: LiveServer, mailbox: Mailbox, browser: Any
) -> None:
    base, email = live_server.url, "forgetful@example.com"
    with httpx.Client(base_url=base, timeout=LIVE_TIMEOUT) as api:
        r = api.post("/api/auth/register", json={"email": email, "password": OLD})
        assert r.status_code == 201, r.text
    context = browser.new_context(base_url=base)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )

    # The address is confirmed by the link mailed at registration.
    page.goto(link_in(mailbox.wait_for_sync(email, "Confirm your e-mail address")))
    expect(page.get_by_role("heading", name="E-mail address confirmed")).to_be_visible()

    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page).to_have_url(f"{base}/forgot-password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page).to_have_url(f"{base}/forgot-password/sent")
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    link = link_in(mailbox.wait_for_sync(email, "Reset your password"))
    assert link.startswith(f"{base}/reset?token=")
    page.goto(link)
    page.get_by_label(NEW_PASSWORD_FIELD).fill("short")
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator("#password-error")).to_contain_text("at least 8 characters")
    page.get_by_label(NEW_PASSWORD_FIELD).fill(NEW)
    page.get_by_role("button", name="Set the password").click()
    expect(page).to_have_url(f"{base}/login")
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")

    # The old password is refused, the new one signs in.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(OLD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect email or password")
    page.get_by_label("Password").fill(NEW)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/dashboard")

    # The link worked once.
    page.goto(link)
    page.get_by_label(NEW_PASSWORD_FIELD).fill("yet another passphrase")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_role("alert")).to_contain_text("expired or has already been used")
    context.close()
    assert problems == []
