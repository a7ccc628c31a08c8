"""The import's own size limit in Chromium (issue 18, item 8): the page's script refuses a file
over IMPORT_MAX_BYTES before uploading it and says what to do; without the script the server
refuses it with an HTML page that says the same. A plain CSV of URLs imports."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import LiveServer
from tests.web.test_import_browser import _choose

LIMIT = 4096


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    return {"import_max_bytes": LIMIT}


BIG = "url\n" + "".join(f"https://big.example/{i:05d}\n" for i in range(400))


def test_a_file_over_the_limit_is_refused_before_the_upload(
    live_server: LiveServer, new_account: Any
) -> None:
    page = new_account()
    page.goto("/dashboard/transfer")
    expect(page.locator("#file-hint")).to_contain_text("Up to 4 KB")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    _choose(page, "big.csv", BIG)
    error = page.locator("#file-error")
    expect(error).to_contain_text("the import limit is 4 KB")
    expect(error).to_contain_text("Split it into smaller files")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(error).to_be_visible()
    expect(page.locator("#import-result")).to_be_empty()
    assert requests == []
    # A plain list of URLs under the limit imports.
    _choose(page, "few.csv", "URL\nhttps://few.example/1\nhttps://few.example/2\n")
    expect(error).to_be_hidden()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-created")).to_have_text("2")


def test_without_the_script_the_server_says_it_in_a_page(
    live_server: LiveServer, new_account: Any
) -> None:
    page = new_account(javascript=False)
    page.goto("/dashboard/transfer")
    _choose(page, "big.csv", BIG)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("IMPORT_MAX_BYTES")).to_be_visible()
    expect(page.get_by_text("shortener import FILE.csv")).to_be_visible()
