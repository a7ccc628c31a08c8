"""Two-factor sign-in in Chromium: set it up from the security page (the test computes the
codes from the secret the page shows, as a phone app would), sign out, sign back in with a
code on the second step; a wrong code is refused."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
from playwright.sync_api import expect

from tests.web.conftest import LiveServer

PASSWORD = "correct horse battery"


def pass_second_step(page: Any, totp: pyotp.TOTP) -> None:
    """On the second step: a wrong code is refused, the next step's code is taken (the
    current step's was used to turn two-factor sign-in on)."""
    next_code = totp.at(time.time() + 30)
    page.get_by_label("Code", exact=True).fill("000000" if next_code != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#otp-error")).to_have_text("That code is not right.")
    page.get_by_label("Code", exact=True).fill(next_code)
    page.get_by_role("button", name="Verify").click()


def test_set_up_two_factor_and_sign_in_with_a_code(
    live_server: LiveServer, new_account: Any, screenshot: Any
) -> None:
    page = new_account()
    email = page.locator(".who:visible").inner_text()
    page.get_by_role("link", name="Security").click()
    expect(page.locator("#twofa-state")).to_have_text("Off.")
    page.get_by_role("button", name="Set up two-factor sign-in").click()

    qr = page.get_by_role("img", name="QR code of the two-factor secret")
    expect(qr).to_be_visible()
    # The data: image loaded under the page's Content Security Policy (not a broken image).
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text()
    totp = pyotp.TOTP(secret)
    screenshot(page, "two-factor-setup")
    page.get_by_label("Code from the app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#code-error")).to_contain_text("not right")
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    expect(page.locator("#twofa-state")).to_contain_text("On. 10 recovery codes left.")
    recovery_code = page.locator("#recovery-codes li").first.inner_text()

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    expect(page.locator("input[name=password]")).to_have_count(0)

    pass_second_step(page, totp)
    expect(page).to_have_url(f"{live_server.url}/dashboard")
    expect(page.locator(".who:visible")).to_have_text(email)

    # Off again with a recovery code (the TOTP steps within reach are used up); the next
    # sign-in asks for no code.
    page.get_by_role("link", name="Security").click()
    page.get_by_label("Code or recovery code").fill(recovery_code)
    page.get_by_role("button", name="Turn off two-factor sign-in").click()
    expect(page.get_by_role("status")).to_contain_text("Two-factor sign-in is off.")
    expect(page.locator("#twofa-state")).to_have_text("Off.")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
