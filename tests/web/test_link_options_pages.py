"""The redirect options on /dashboard/links/{key} (both storage modes): forwarding, fallback,
previews, targeting rules and A/B variants, with the service's errors beside the fields."""

from __future__ import annotations

import httpx

from tests.clicks.traffic import FIREFOX_LINUX
from tests.factories import eventually
from tests.web.test_pages import HTML, csrf_of, field_error, page_token, register

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
BASE = {"url": "https://example.com/main", "redirect_type": "302", "is_active": "on"}
EMPTY_RULE = {"device": "", "country": "", "language": "", "url": ""}


def _rows(prefix: str, rows: list[dict[str, str]]) -> dict[str, list[str]]:
    """Repeated rows as the browser sends them: one list per input, in row order."""
    return {f"{prefix}_{name}": [row[name] for row in rows] for name in rows[0]}


async def _link(client: httpx.AsyncClient, alias: str) -> str:
    await register(client)
    token = await page_token(client)
    made = await client.post(
        "/dashboard/links", data={"url": BASE["url"], "alias": alias, "csrf_token": token}
    )
    assert made.status_code == 303
    return token


async def test_options_are_saved_shown_again_and_used_by_the_redirect(
    client: httpx.AsyncClient,
) -> None:
    token = await _link(client, "opts")
    page = await client.get("/dashboard/links/opts")
    assert page.status_code == 200
    assert page.text.count('name="rule_url"') == 3 and page.text.count('name="variant_url"') == 3
    assert 'name="forward_query"' in page.text and 'name="og_image"' in page.text

    rules = [
        EMPTY_RULE,  # an empty row between filled ones is dropped
        {"device": "ios", "country": "", "language": "", "url": "https://apps.example/ios"},
        {"device": "", "country": "de", "language": "", "url": "https://example.de/"},
    ]
    data = {
        **BASE,
        "forward_query": "on",
        "fallback_url": "https://example.com/gone",
        "og_title": "<b>Preview</b>",
        "og_description": "Shared",
        "og_image": "https://example.com/card.png",
        "csrf_token": token,
        **_rows("rule", rules),
        **_rows("variant", [{"url": "", "weight": ""}] * 3),
    }
    saved = await client.post("/dashboard/links/opts", data=data)
    assert saved.status_code == 303, saved.text

    shown = await client.get("/dashboard/links/opts")
    text = shown.text
    assert '<details class="more" id="link-options" open>' in text
    assert 'name="forward_query" checked' in text and 'name="forward_path" checked' not in text
    assert 'value="https://apps.example/ios"' in text and 'value="DE"' in text
    assert '<option value="ios" selected>' in text
    assert 'value="&lt;b&gt;Preview&lt;/b&gt;"' in text
    assert text.count('name="rule_url"') == 3  # two rules and one empty row to add another

    iphone = await client.get("/opts?utm=x", headers={"user-agent": IPHONE})
    assert iphone.status_code == 302
    assert iphone.headers["location"].startswith("https://apps.example/ios")
    desktop = await client.get("/opts?utm=x", headers={"user-agent": FIREFOX_LINUX})
    assert desktop.headers["location"] == "https://example.com/main?utm=x"

    # Wait for the two clicks to be written first: on SQLite an edit that reads the link
    # before the click flusher's commit and writes after it is refused (see the report).
    async def clicks_written() -> bool:
        page = await client.get("/dashboard/links/opts")
        return 'All-time clicks</p><div class="value">2<' in page.text

    await eventually(clicks_written)

    # Variants: two rows make an A/B split; every visitor lands on one of them.
    variants = [
        {"url": "https://a.example/", "weight": "3"},
        {"url": "https://b.example/", "weight": ""},
        {"url": "", "weight": ""},
    ]
    data |= {**_rows("rule", [EMPTY_RULE]), **_rows("variant", variants)}
    data.pop("forward_query")
    assert (await client.post("/dashboard/links/opts", data=data)).status_code == 303
    shown = await client.get("/dashboard/links/opts")
    assert 'value="https://b.example/"' in shown.text and 'value="3"' in shown.text
    assert 'value="https://apps.example/ios"' not in shown.text  # rules cleared
    landed = await client.get("/opts")
    assert landed.headers["location"] in ("https://a.example/", "https://b.example/")


async def test_option_errors_are_shown_beside_their_row_and_nothing_changes(
    client: httpx.AsyncClient,
) -> None:
    token = await _link(client, "bad-opts")
    rules = [
        {"device": "", "country": "", "language": "", "url": "https://ok.example/"},
        {"device": "", "country": "ZZ", "language": "", "url": "https://zz.example/"},
    ]
    data = {
        **BASE,
        "title": "changed",
        "csrf_token": token,
        **_rows("rule", rules),
        **_rows("variant", [{"url": "https://only-one.example/", "weight": "x"}]),
        "og_image": "javascript:alert(1)",
    }
    refused = await client.post("/dashboard/links/bad-opts", data=data)
    assert refused.status_code == 422
    assert "ISO 3166-1" in field_error(refused, "rules-1-country")
    assert "at least one of device, country or language" in refused.text
    assert 'id="rules-0-error"' in refused.text
    assert field_error(refused, "variants-0-weight")
    # The rows come back as typed.
    assert 'value="ZZ"' in refused.text and 'value="https://only-one.example/"' in refused.text
    page = await client.get("/dashboard/links/bad-opts")
    assert "changed" not in page.text

    # A single variant, and a bad URL, as the service words them.
    data = {
        **BASE,
        "csrf_token": token,
        **_rows("variant", [{"url": "https://only-one.example/", "weight": "2"}]),
    }
    one = await client.post("/dashboard/links/bad-opts", data=data)
    assert one.status_code == 422 and field_error(one, "variants")
    data = {
        **BASE,
        "csrf_token": token,
        **_rows("rule", [{**EMPTY_RULE, "device": "android", "url": "ftp://x.example/"}]),
    }
    bad_url = await client.post("/dashboard/links/bad-opts", data=data)
    assert bad_url.status_code == 422 and field_error(bad_url, "rules-0-url")
    data = {**BASE, "csrf_token": token, "fallback_url": "http://short.test/loop"}
    loop = await client.post("/dashboard/links/bad-opts", data=data)
    assert loop.status_code == 422 and field_error(loop, "edit-fallback_url")


async def test_option_edits_need_the_csrf_token_and_the_owner(client: httpx.AsyncClient) -> None:
    await _link(client, "guarded")
    data = {**BASE, "forward_path": "on"}
    refused = await client.post("/dashboard/links/guarded", data=data, headers=HTML)
    assert refused.status_code == 403
    assert 'name="forward_path" checked' not in (await client.get("/dashboard/links/guarded")).text
    client.cookies.clear()
    await register(client)
    token = csrf_of(await client.get("/dashboard"))
    other = await client.post(
        "/dashboard/links/guarded", data={**data, "csrf_token": token}, headers=HTML
    )
    assert other.status_code == 404
