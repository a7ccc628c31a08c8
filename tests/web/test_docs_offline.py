"""Issue 18, item 11: /docs and /redoc render with the network off: every request that would
leave this machine is aborted, and Swagger UI and ReDoc still show our API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shortener.docs_pages import DOCS_URL, REDOC_URL
from tests.web.conftest import PAGE_TIMEOUT_MS

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture
def offline_page(live_server: Any, browser: Any) -> Any:
    """A page on the live server whose requests anywhere else are aborted (and recorded)."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    refused: list[str] = []
    asked: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        asked.append(url)
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.refused, page.asked, page.errors = refused, asked, errors
    yield page
    context.close()


def test_swagger_ui_renders_our_operations_offline(offline_page: Any) -> None:
    from playwright.sync_api import expect

    page = offline_page
    page.goto(DOCS_URL)
    create = page.locator("#operations-links-create_link_api_links_post")
    expect(create).to_be_visible(timeout=30_000)  # after /openapi.json, built on first ask
    expect(create).to_contain_text("/api/links")
    expect(create).to_contain_text("Create Link")
    assert page.locator(".opblock").count() > 50  # every operation, not a fallback page
    expect(page.locator(".information-container .title")).to_contain_text("shortener")
    assert page.refused == [] and page.errors == []
    assert any(url.endswith("/static/vendor/swagger-ui/swagger-ui-bundle.js") for url in page.asked)


def test_redoc_renders_our_operations_offline(offline_page: Any) -> None:
    from playwright.sync_api import expect

    page = offline_page
    page.goto(REDOC_URL)
    expect(page.locator(".api-info h1")).to_contain_text("shortener", timeout=30_000)
    expect(page.get_by_role("heading", name="Create Link").first).to_be_attached()
    # The only thing it asks the internet for is the "API docs by Redocly" logo in the
    # sidebar's corner (built into the bundle): refused here, it simply does not show.
    assert set(page.refused) <= {REDOCLY_LOGO} and page.errors == []
    assert any(url.endswith("/static/vendor/redoc/redoc.standalone.js") for url in page.asked)


async def test_the_pages_name_no_other_host(client: httpx.AsyncClient) -> None:
    for path in (DOCS_URL, REDOC_URL, "/docs/oauth2-redirect"):
        page = await client.get(path)
        assert page.status_code == 200, path
        for marker in ("https://", "http://"):
            assert marker not in page.text, (path, marker)
    for asset in (
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/vendor/redoc/redoc.standalone.js",
    ):
        assert (await client.get(asset)).status_code == 200, asset
