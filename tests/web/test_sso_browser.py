"""Single sign-on in Chromium against a real OpenID provider (tests/oidc/provider.py): press
"Sign in with single sign-on", sign in on the provider's page, land on the dashboard signed in.
The refusals' details and the tampered callbacks are tested over HTTP (tests/auth/test_sso.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from tests.oidc.provider import Provider, running_provider
from tests.web.conftest import PAGE_TIMEOUT_MS, LiveServer
from tests.web.test_two_factor_browser import pass_second_step

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def signup() -> bool:
    return True


@pytest.fixture
def live_overrides(provider: Provider, signup: bool) -> dict[str, Any]:
    return provider.settings(signup=signup)


@pytest.fixture
def page(live_server: LiveServer, browser: Any) -> Iterator[Any]:
    """A fresh browser on the live server's sign-in page; no script error may happen."""
    problems: list[str] = []
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    opened = context.new_page()
    opened.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    opened.goto("/login")
    yield opened
    context.close()
    assert problems == []


def sign_in_at_provider(page: Any, provider: Provider, login: str) -> None:
    page.get_by_role("link", name="Sign in with single sign-on").click()
    # At the provider (another host), on its sign-in page.
    expect(page).to_have_url(re.compile(re.escape(provider.issuer) + "/interaction/"))
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill("any password")
    page.get_by_role("button", name="Sign in at the provider").click()


def test_first_sign_in_creates_the_account_and_lands_on_the_dashboard(
    live_server: LiveServer, provider: Provider, page: Any, screenshot: Any
) -> None:
    screenshot(page, "login-sso")
    sign_in_at_provider(page, provider, "newcomer")
    expect(page).to_have_url(f"{live_server.url}/dashboard")
    expect(page.locator(".who:visible")).to_have_text("newcomer@example.com")
    # The dashboard's own session, as after a password sign-in: it survives a reload.
    page.reload()
    expect(page.locator(".who:visible")).to_have_text("newcomer@example.com")


def test_an_existing_account_is_matched_and_next_is_kept(
    live_server: LiveServer, provider: Provider, page: Any
) -> None:
    page.goto("/register")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/login")

    page.goto("/dashboard/keys")  # signed out: sent to /login?next=/dashboard/keys
    sign_in_at_provider(page, provider, "ada")
    expect(page).to_have_url(f"{live_server.url}/dashboard/keys")
    expect(page.locator(".who:visible")).to_have_text("ada@example.com")


def test_an_account_with_two_factor_is_asked_for_its_code_after_the_provider(
    live_server: LiveServer, provider: Provider, page: Any
) -> None:
    """The provider's sign-in is the password's equal, not more: the account's second step
    follows it, and the page it was going to is kept through both."""
    page.goto("/register")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#twofa-state")).to_contain_text("On. 10 recovery codes left.")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/login")

    page.goto("/dashboard/keys")  # signed out: sent to /login?next=/dashboard/keys
    sign_in_at_provider(page, provider, "ada")
    # Back from the provider: not signed in yet, the second step asks for a code.
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    expect(page.locator("input[name=password]")).to_have_count(0)
    # The browser's cookies as they stand hold no session yet.
    before = page.request.get(f"{live_server.url}/dashboard", max_redirects=0)
    assert before.status in (302, 303) and before.headers["location"].startswith("/login")

    pass_second_step(page, totp)
    expect(page).to_have_url(f"{live_server.url}/dashboard/keys")
    expect(page.locator(".who:visible")).to_have_text("ada@example.com")


def test_an_unverified_address_is_refused_with_a_page_that_says_why(
    provider: Provider, page: Any
) -> None:
    sign_in_at_provider(page, provider, "mallory")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("has not verified the e-mail address")).to_be_visible()


@pytest.mark.parametrize("signup", [False])
def test_without_signup_an_unknown_address_is_sent_to_an_admin(
    provider: Provider, page: Any
) -> None:
    sign_in_at_provider(page, provider, "newcomer")
    expect(page.get_by_text("Ask an administrator to create your account")).to_be_visible()


def test_cancelling_at_the_provider_comes_back_to_a_page_that_says_so(
    live_server: LiveServer, page: Any
) -> None:
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(re.escape(f"{live_server.url}/login/oidc/callback?")))
    expect(page.get_by_text("cancelled or refused at your single sign-on provider")).to_be_visible()
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(f"{live_server.url}/login")
