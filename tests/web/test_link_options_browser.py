"""A link's targeting rules and A/B variants in Chromium: filled in as rows of the edit form,
saved, shown again after a reload, used by the redirect; an unknown country is refused beside
its input and nothing is saved."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import LiveServer

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def test_rules_and_variants_are_saved_shown_again_and_checked(
    live_server: LiveServer, new_account: Any
) -> None:
    base = live_server.url
    page = new_account()
    page.get_by_label("Long URL").fill("https://example.com/main")
    page.get_by_label("Custom alias").fill("split")
    page.get_by_role("button", name="Shorten").click()
    expect(page.get_by_role("status")).to_contain_text("Created")

    page.goto("/dashboard/links/split")
    options = page.locator("#link-options")
    expect(options).not_to_have_attribute("open", "")  # a link without options: folded
    options.locator("summary").click()
    rule = page.get_by_role("group", name="Rule 1")
    rule.get_by_label("Device").select_option("ios")
    rule.get_by_label("Send to URL").fill("https://apps.example/ios")
    first = page.get_by_role("group", name="Variant 1")
    first.get_by_label("Variant URL").fill("https://a.example/")
    first.get_by_label("Weight").fill("3")
    page.get_by_role("group", name="Variant 2").get_by_label("Variant URL").fill(
        "https://b.example/"
    )
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{base}/dashboard/links/split")
    expect(page.get_by_role("status")).to_contain_text("Changes saved")

    page.reload()
    expect(options).to_have_attribute("open", "")
    expect(rule.get_by_label("Device")).to_have_value("ios")
    expect(rule.get_by_label("Send to URL")).to_have_value("https://apps.example/ios")
    expect(first.get_by_label("Variant URL")).to_have_value("https://a.example/")
    expect(first.get_by_label("Weight")).to_have_value("3")
    second = page.get_by_role("group", name="Variant 2")
    expect(second.get_by_label("Variant URL")).to_have_value("https://b.example/")
    expect(second.get_by_label("Weight")).to_have_value("1")  # the default, written out
    # One empty row after the filled ones, to add another.
    expect(page.get_by_role("group", name="Rule 2").get_by_label("Send to URL")).to_have_value("")

    # The redirect uses them: an iPhone goes to the rule's URL, others to a variant.
    iphone = httpx.get(f"{base}/split", headers={"user-agent": IPHONE}, timeout=LIVE_TIMEOUT)
    assert iphone.headers["location"] == "https://apps.example/ios"
    assert httpx.get(f"{base}/split", timeout=LIVE_TIMEOUT).headers["location"] in (
        "https://a.example/",
        "https://b.example/",
    )

    # A country that does not exist: the reason beside its input, the rows as typed.
    second_rule = page.get_by_role("group", name="Rule 2")
    second_rule.get_by_label("Country").fill("ZZ")
    second_rule.get_by_label("Send to URL").fill("https://zz.example/")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator("#rules-1-country-error")
    expect(error).to_contain_text("'ZZ' is not an ISO 3166-1 alpha-2 country code")
    expect(second_rule.get_by_label("Country")).to_have_attribute("aria-invalid", "true")
    expect(second_rule.get_by_label("Country")).to_have_value("ZZ")
    expect(options).to_have_attribute("open", "")
    page.goto("/dashboard/links/split")  # nothing was saved
    expect(page.get_by_role("group", name="Rule 2").get_by_label("Country")).to_have_value("")
    expect(rule.get_by_label("Send to URL")).to_have_value("https://apps.example/ios")
