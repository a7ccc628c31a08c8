"""The import page in Chromium: the file goes up from the page's script, a progress bar follows
the streamed answer, and the summary lists bad rows by line; without the script the plain form
post gives the same summary. The export is a streamed download."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LIVE_TIMEOUT
from tests.web.conftest import LiveServer, wait_until

HEADER = "key,url,title,tags,created_at,expires_at,max_clicks,redirect_type,is_active,clicks\n"
CSV = (
    HEADER
    + "imp-one,https://one.example/,One,,,,,,,\n"  # line 2
    + "imp-two,https://two.example/,,,,,,,,\n"  # line 3
    + "imp-bad,https://bad.example/,,,tomorrow,,,,,\n"  # line 4: created_at is no date
    + "imp-three,https://three.example/,,,,,,,,\n"  # line 5
)


def _choose(page: Any, name: str, text: str) -> None:
    page.locator("#file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_the_import_shows_its_progress_then_the_bad_rows_by_line(
    live_server: LiveServer, new_account: Any
) -> None:
    page = new_account()
    page.get_by_role("navigation").get_by_role("link", name="Import/export").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/transfer")
    bar = page.locator("#import-progress")
    expect(bar).to_be_hidden()

    _choose(page, "links.csv", CSV)
    page.get_by_role("button", name="Import", exact=True).click()
    result = page.locator("#import-result")
    expect(result.get_by_role("heading", name="Imported links.csv")).to_be_visible()
    # The bar followed the stream to its end: four rows read of four.
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("max", "4")
    expect(bar).to_have_attribute("value", "4")
    expect(page.locator("#import-status")).to_have_text("Done: 4 rows read.")
    expect(page).to_have_url(f"{live_server.url}/dashboard/transfer")  # the script posted it
    expect(page.locator("#import-created")).to_have_text("3")
    expect(page.locator("#import-errors")).to_have_text("1")
    error = result.locator("table.import-errors tbody tr")
    expect(error).to_have_count(1)
    expect(error.locator("td").nth(0)).to_have_text("4")
    expect(error.locator("td").nth(1)).to_contain_text("created_at: not a date and time")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_enabled()

    # The same file again: nothing new, every good row skipped.
    _choose(page, "again.csv", CSV)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(result.get_by_role("heading", name="Imported again.csv")).to_be_visible()
    expect(page.locator("#import-created")).to_have_text("0")
    expect(page.locator("#import-skipped")).to_have_text("3")

    # A file the importer cannot read: the reason beside the field, no summary.
    _choose(page, "other.csv", "name,address\nx,y\n")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#file-error")).to_contain_text("no URL column")
    expect(page.locator("#file")).to_have_attribute("aria-invalid", "true")
    expect(result).to_be_empty()
    expect(bar).to_be_hidden()

    page.get_by_role("link", name="All links").click()
    rows = page.locator("table.links tbody tr")
    for key in ("imp-one", "imp-two", "imp-three"):
        expect(rows.filter(has_text=key)).to_have_count(1)
    expect(rows.filter(has_text="imp-bad")).to_have_count(0)


def test_without_the_script_the_form_post_shows_the_same_summary(
    live_server: LiveServer, new_account: Any
) -> None:
    page = new_account(javascript=False)
    page.goto("/dashboard/transfer")
    _choose(page, "plain.csv", CSV)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/transfer/import")
    expect(page.get_by_role("heading", name="Imported plain.csv")).to_be_visible()
    expect(page.locator("#import-created")).to_have_text("3")
    expect(page.locator("table.import-errors tbody tr td").first).to_have_text("4")
    expect(page.locator("#import-progress")).to_be_hidden()


class TableLock:
    """A PostgreSQL transaction of the test's own holding SHARE on link_tags: inserting tags
    waits until it ends, while everything else goes on. asyncpg in a thread with its own
    event loop (Playwright's sync API has one on this thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.conn: Any = None

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def hold(self) -> None:
        self.conn = self._run(asyncpg.connect(self.url))
        self._run(self.conn.execute("BEGIN; LOCK TABLE link_tags IN SHARE MODE"))

    def release(self) -> None:
        if self.conn is not None:
            self._run(self.conn.execute("ROLLBACK"))
            self._run(self.conn.close())
            self.conn = None

    def close(self) -> None:
        self.release()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def tag_lock(live_server: LiveServer) -> Iterator[TableLock]:
    # PostgreSQL only (the tests below are): SQLite locks the whole database, not one table.
    lock = TableLock(live_server.settings.database_url)
    yield lock
    lock.close()


# 2,500 rows, tagged from row 1,500 on: with link_tags locked, the first thousand go in and
# the second thousand waits, so the import stays at 1,000 of 2,500 until the lock goes.
BIG_CSV = HEADER + "".join(
    f"live-{i},https://live.example/{i},,{'t' if i >= 1500 else ''},,,,,,\n" for i in range(2500)
)


def _start_held_import(page: Any, tag_lock: TableLock) -> None:
    """The 2,500-row import with link_tags locked, until the page shows it held at 1,000."""
    page.goto("/dashboard/transfer")
    _choose(page, "big.csv", BIG_CSV)
    tag_lock.hold()  # released by the fixture at the latest, before the server stops
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-status")).to_have_text("Read 1,000 of 2,500 rows…")


@pytest.mark.parametrize("mode", ["postgres"])
def test_the_bar_moves_while_the_import_runs(new_account: Any, tag_lock: TableLock) -> None:
    page = new_account()
    _start_held_import(page, tag_lock)
    bar = page.locator("#import-progress")
    expect(bar).to_have_attribute("value", "1000")
    expect(bar).to_have_attribute("max", "2500")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    expect(page.locator("#import-result")).to_be_empty()
    tag_lock.release()
    expect(page.locator("#import-status")).to_have_text("Done: 2,500 rows read.")
    expect(bar).to_have_attribute("value", "2500")
    expect(page.locator("#import-created")).to_have_text("2,500")


@pytest.mark.parametrize("mode", ["postgres"])
def test_leaving_the_page_does_not_stop_an_import_under_way(
    new_account: Any, tag_lock: TableLock
) -> None:
    page = new_account()
    _start_held_import(page, tag_lock)
    page.goto("/dashboard")  # the stream is cut halfway
    tag_lock.release()
    # Like the plain form post's, the import completes without anyone watching.
    wait_until(
        lambda: "https://live.example/2499" in page.goto("/dashboard?q=live-2499").text(),
        what="the rest of the import",
    )


def test_the_export_is_a_streamed_download(live_server: LiveServer, new_account: Any) -> None:
    page = new_account()
    page.goto("/dashboard/transfer")
    _choose(page, "links.csv", CSV)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-created")).to_have_text("3")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download links.csv").click()
    download = info.value
    assert download.suggested_filename == "links.csv"
    with open(download.path(), encoding="utf-8") as exported:
        text = exported.read()
    assert text.startswith("key,url,")
    assert sorted(re.findall(r"^(imp-\w+),", text, re.M)) == ["imp-one", "imp-three", "imp-two"]

    # Sent as it is read, a page of links at a time: chunked, no length known up front.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.stream(
        "GET",
        f"{live_server.url}/dashboard/transfer/export.csv",
        cookies=cookies,
        timeout=LIVE_TIMEOUT,
    ) as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
