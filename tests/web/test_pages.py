"""The dashboard over HTTP (both storage modes): sign-in, redirects, CSRF, escaping, headers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from shortener.main import create_app
from shortener.web.security import CONTENT_SECURITY_POLICY
from tests.factories import PASSWORD, make_link, make_user, new_email

HTML = {"accept": "text/html"}
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(page: httpx.Response) -> str:
    match = TOKEN.search(page.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def register(client: httpx.AsyncClient, email: str | None = None) -> str:
    """A new account, signed in through the pages; returns the email."""
    email = email or new_email()
    token = csrf_of(await client.get("/register"))
    response = await client.post(
        "/register", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return email


async def page_token(client: httpx.AsyncClient) -> str:
    return csrf_of(await client.get("/dashboard"))


def field_error(page: httpx.Response, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page.text)
    assert match, f"no error beside {field}"
    return match.group(1)


async def test_signed_out_visitors_are_sent_to_login_with_next(client: httpx.AsyncClient) -> None:
    for path, expected in [
        ("/dashboard", "/login?next=/dashboard"),
        ("/dashboard/links/abc?window=24h", "/login?next=/dashboard/links/abc%3Fwindow%3D24h"),
        ("/logout", "/login?next=/logout"),
    ]:
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == expected
    # ... and back there after signing in.
    email = await register(client)
    client.cookies.clear()
    login = await client.get("/login", params={"next": "/dashboard/links/abc?window=24h"})
    assert 'value="/dashboard/links/abc?window=24h"' in login.text
    response = await client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": "/dashboard/links/abc?window=24h",
            "csrf_token": csrf_of(login),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/links/abc?window=24h"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
async def test_next_never_leaves_the_site(client: httpx.AsyncClient, target: str) -> None:
    email = await register(client)
    client.cookies.clear()
    login = await client.get("/login", params={"next": target})
    assert "evil" not in login.text
    response = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": target, "csrf_token": csrf_of(login)},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    # Already signed in, /login?next=... redirects at once: also only locally.
    again = await client.get("/login", params={"next": target})
    assert again.headers["location"] == "/dashboard"


async def test_forms_without_a_valid_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    email = await register(client)
    headers = await make_user(client)  # an API user, to look at links from outside
    token = await page_token(client)

    # Signed-out forms too: login without a token, or with another browser's token.
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as c2:
        foreign = csrf_of(await c2.get("/login"))
        refused = await c2.post("/login", data={"email": email, "password": PASSWORD})
        assert refused.status_code == 403
        c2.cookies.delete("csrf")
        c2.cookies.set("csrf", "planted-seed", domain="short.test")
        refused = await c2.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": foreign}
        )
        assert refused.status_code == 403

    create = {"url": "https://example.com/csrf", "alias": "csrf-check"}
    for data in (create, {**create, "csrf_token": ""}, {**create, "csrf_token": "0" * 64}):
        response = await client.post("/dashboard/links", data=data)
        assert response.status_code == 403
    assert (await client.get("/api/links/csrf-check", headers=headers)).status_code == 404
    response = await client.post("/dashboard/links", data={**create, "csrf_token": token})
    assert response.status_code == 303

    # Logout is a POST with the token: without it, we stay signed in.
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/dashboard")).status_code == 200
    # HTML clients get a readable page for the refusal.
    page = await client.post("/logout", headers=HTML)
    assert page.status_code == 403 and "security token" in page.text
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    assert (await client.get("/dashboard")).status_code == 303


async def test_a_token_from_one_session_does_not_verify_in_another(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    token_a = await page_token(client)
    seed = client.cookies["csrf"]
    client.cookies.delete("session")
    await register(client)  # the same browser (same seed), another account
    response = await client.post(
        "/dashboard/links", data={"url": "https://example.com/", "csrf_token": token_a}
    )
    assert client.cookies["csrf"] == seed
    assert response.status_code == 403


async def test_user_text_is_escaped_everywhere(client: httpx.AsyncClient) -> None:
    await register(client)
    token = await page_token(client)
    title = "<script>alert(1)</script>"
    tag = '"><img src=x onerror=alert(2)>'
    url = 'https://example.com/?q="><script>alert(3)</script>'
    response = await client.post(
        "/dashboard/links",
        data={"url": url, "title": title, "tags": tag, "alias": "xss-link", "csrf_token": token},
    )
    assert response.status_code == 303
    for path in ("/dashboard", "/dashboard/links/xss-link", "/dashboard?q=%3Cscript%3E"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        # The only scripts are external files; no inline styles either (the CSP forbids both).
        scripts = re.findall(r"<script[^>]*>", page.text)
        assert '<script src="/static/app.js" defer>' in scripts
        assert all(re.fullmatch(r'<script src="/static/[a-z-]+\.js" defer>', s) for s in scripts)
        assert " style=" not in page.text
    # The flash message is escaped too.
    flash = await client.post(
        "/dashboard/links", data={"url": url, "title": title, "csrf_token": token}
    )
    assert "<script>" not in (await client.get(flash.headers["location"])).text


async def test_session_cookie_flags(client: httpx.AsyncClient) -> None:
    token = csrf_of(await client.get("/register"))
    response = await client.post(
        "/register", data={"email": new_email(), "password": PASSWORD, "csrf_token": token}
    )
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    for name in ("session", "flash"):
        assert "httponly" in cookies[name]
        assert "samesite=lax" in cookies[name]
        assert "secure" not in cookies[name]  # BASE_URL is http: a Secure cookie would be lost
        assert "path=/" in cookies[name]
    csrf_cookie = (
        (await httpx.AsyncClient(transport=client._transport).get("http://short.test/login"))
        .headers["set-cookie"]
        .lower()
    )
    assert "httponly" in csrf_cookie and "samesite=lax" in csrf_cookie


async def test_cookies_are_secure_when_base_url_is_https(make_settings: Any) -> None:
    app = create_app(make_settings(base_url="https://short.test"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://short.test") as c:
            login = await c.get("/register")
            assert "secure" in login.headers["set-cookie"].lower()
            response = await c.post(
                "/register",
                data={"email": new_email(), "password": PASSWORD, "csrf_token": csrf_of(login)},
            )
            assert response.status_code == 303
            for cookie in response.headers.get_list("set-cookie"):
                assert "; secure" in cookie.lower()
                assert "httponly" in cookie.lower()
            assert (await c.get("/dashboard")).status_code == 200


async def test_csp_on_every_html_page_not_on_json(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="guarded", password="open sesame")
    login = await client.get("/login")
    await register(client)
    pages = [
        login,
        await client.get("/dashboard"),
        await client.get("/dashboard/links/nope", headers=HTML),  # 404 page from the app
        await client.get("/no-such-key", headers=HTML),  # 404 page from the redirect path
        await client.get("/guarded", headers=HTML),  # the password form
    ]
    assert [p.status_code for p in pages] == [200, 200, 404, 404, 200]
    for page in pages:
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "unsafe-inline" not in page.headers["content-security-policy"]
    # JSON and Swagger UI (which needs its inline script and CDN files) do not get the page
    # policy; they get only the framing ban every response carries.
    api = await client.get("/api/links", headers=headers)
    assert api.headers["content-security-policy"] == "frame-ancestors 'none'"
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
    css = await client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_form_errors_carry_the_api_messages(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="taken")
    await register(client)
    token = await page_token(client)
    cases = [
        ({"url": "https://example.com/", "alias": "taken"}, "alias"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "https://example.com/", "alias": "a b"}, "alias"),
        ({"url": "https://example.com/", "max_clicks": "0"}, "max_clicks"),
        ({"url": "https://example.com/", "expires_at": "2001-01-01T00:00"}, "expires_at"),
        ({"url": "https://short.test/loop"}, "url"),
    ]
    for data, field in cases:
        page = await client.post("/dashboard/links", data={**data, "csrf_token": token})
        assert page.status_code == 422
        api_body: dict[str, Any] = {k: int(v) if k == "max_clicks" else v for k, v in data.items()}
        api = await client.post("/api/links", json=api_body, headers=headers)
        assert api.status_code in (409, 422)
        detail = api.json()["detail"]
        message = detail if isinstance(detail, str) else detail[0]["msg"]
        assert field_error(page, field) == message.replace("'", "&#39;")
        assert 'aria-invalid="true"' in page.text
        # What was typed is kept (but never a password).
        assert f'value="{data["url"]}"' in page.text


async def test_list_search_tags_and_pagination(client: httpx.AsyncClient) -> None:
    await register(client)
    token = await page_token(client)
    for i in range(23):
        tags = "even" if i % 2 == 0 else "odd"
        response = await client.post(
            "/dashboard/links",
            data={"url": f"https://example.com/p{i}", "title": f"Page {i}", "tags": tags,
                  "alias": f"page-{i:02d}", "csrf_token": token},
        )  # fmt: skip
        assert response.status_code == 303

    def keys(page: httpx.Response) -> list[str]:
        return re.findall(r'<a href="/dashboard/links/([^"/]+)" aria-label', page.text)

    first = await client.get("/dashboard")
    assert keys(first)[:2] == ["page-22", "page-21"]  # newest first
    assert len(keys(first)) == 20 and "Page 1 of 2" in first.text
    second = await client.get("/dashboard", params={"page": 2})
    assert keys(second) == ["page-02", "page-01", "page-00"]
    assert keys(await client.get("/dashboard", params={"q": "p1"})) == [
        f"page-{i}" for i in (19, 18, 17, 16, 15, 14, 13, 12, 11, 10)
    ] + ["page-01"]
    odd = await client.get("/dashboard", params={"tag": "odd"})
    assert len(keys(odd)) == 11 and all(int(k[-2:]) % 2 for k in keys(odd))
    empty = await client.get("/dashboard", params={"q": "nothing-like-this"})
    assert "No links match" in empty.text
    assert (await client.get("/dashboard", params={"page": "x"})).status_code == 200


async def test_empty_state_and_flash(client: httpx.AsyncClient) -> None:
    await register(client)
    first = await client.get("/dashboard")
    assert "Welcome" in first.text  # the flash, once
    assert "No links yet" in first.text
    again = await client.get("/dashboard")
    assert "Welcome" not in again.text
    client.cookies.set("flash", "forged.message", domain="short.test")
    assert "forged" not in (await client.get("/dashboard")).text


async def test_link_page_edit_qr_delete_and_ownership(client: httpx.AsyncClient) -> None:
    other = await make_user(client)
    await make_link(client, other, alias="not-mine")
    await register(client)
    token = await page_token(client)
    await client.post(
        "/dashboard/links",
        data={
            "url": "https://example.com/a",
            "alias": "mine",
            "password": "pw",
            "csrf_token": token,
        },
    )
    page = await client.get("/dashboard/links/mine")
    assert page.status_code == 200 and "Remove the password" in page.text
    assert (await client.get("/dashboard/links/not-mine")).status_code == 404
    form = {"url": "https://example.com/b", "title": "B", "tags": "x, y", "redirect_type": "308"}
    assert (
        await client.post("/dashboard/links/not-mine", data={**form, "csrf_token": token})
    ).status_code == 404

    # A refused field leaves every field as it was (no half-applied edit).
    bad = await client.post(
        "/dashboard/links/mine",
        data={**form, "expires_at": "2001-01-01T00:00", "is_active": "on", "csrf_token": token},
    )
    assert bad.status_code == 422 and field_error(bad, "edit-expires_at")
    assert (await client.get("/dashboard/links/mine")).text.count("https://example.com/a") >= 1
    ok = await client.post(
        "/dashboard/links/mine",
        data={**form, "remove_password": "on", "csrf_token": token},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard/links/mine"
    edited = await client.get("/dashboard/links/mine")
    assert "https://example.com/b" in edited.text and "Remove the password" not in edited.text
    assert "inactive" in edited.text  # the box was left unticked
    assert (await client.get("/mine")).status_code == 410

    svg = await client.get("/dashboard/links/mine/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    png = await client.get("/dashboard/links/mine/qr.png", params={"download": "1"})
    assert png.content.startswith(b"\x89PNG")
    assert png.headers["content-disposition"] == 'attachment; filename="mine-qr.png"'
    assert (await client.get("/dashboard/links/not-mine/qr.svg")).status_code == 404

    deleted = await client.post("/dashboard/links/mine/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert (await client.get("/dashboard/links/mine")).status_code == 404
    assert (await client.get("/mine")).status_code == 404


async def test_link_page_and_overview_draw_the_stats_service_answers(
    client: httpx.AsyncClient,
) -> None:
    from tests.factories import eventually

    await register(client)
    token = await page_token(client)
    await client.post(
        "/dashboard/links",
        data={"url": "https://example.com/s", "alias": "charted", "csrf_token": token},
    )
    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
    for referrer in ("https://news.example/", "https://news.example/", ""):
        visit = {"user-agent": chrome, "referer": referrer} if referrer else {"user-agent": chrome}
        assert (await client.get("/charted", headers=visit)).status_code == 302

    async def three_clicks() -> bool:
        page = await client.get("/dashboard/links/charted", params={"window": "24h"})
        return 'id="total-clicks">3<' in page.text

    await eventually(three_clicks)
    page = await client.get("/dashboard/links/charted", params={"window": "24h"})
    assert re.search(r'<g class="point"[^>]*><title>[^<]*UTC: 3 clicks</title><rect', page.text)
    assert "news.example" in page.text and "Direct or unknown" in page.text
    by_day = await client.get("/dashboard/links/charted", params={"window": "30d"})
    assert "3 clicks in total" in by_day.text
    custom = await client.get(
        "/dashboard/links/charted", params={"window": "custom", "from": "2001-01-01", "to": "x"}
    )
    assert custom.status_code == 200 and "Choose both dates" in custom.text

    overview = await client.get("/dashboard")
    assert "Top links" in overview.text
    assert re.search(r'href="/dashboard/links/charted">charted</a>.*?<span class="count">3<',
                     overview.text, re.S)  # fmt: skip
    assert 'class="sparkline"' in overview.text


# "Nov 29, 2026 18:05": how every page writes a moment to the minute (shortener/templating.py).
MINUTE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{2}:\d{2}")


async def test_pages_write_moments_one_way(client: httpx.AsyncClient) -> None:
    await register(client)
    token = await page_token(client)
    await client.post(
        "/dashboard/links",
        data={"url": "https://example.com/when", "alias": "when", "csrf_token": token},
    )
    link = (await client.get("/dashboard/links/when")).text
    created = re.search(r"<dt>Created</dt><dd>([^<]*) UTC</dd>", link)
    assert created and MINUTE.fullmatch(created.group(1)), created
    # The statistics' window and the security page's sessions wrote theirs differently once
    # ("Nov 29 2026 18:05", "2026-11-29 18:05").
    window = re.search(r"<p class=\"muted small\">([^<]*) \u2013 ([^<]*) UTC", link)
    assert window and all(MINUTE.fullmatch(part) for part in window.groups()), window
    security = (await client.get("/dashboard/security")).text
    signed_in = re.search(r'data-label="Signed in"><time datetime="[^"]*">([^<]*) UTC', security)
    assert signed_in and MINUTE.fullmatch(signed_in.group(1)), signed_in
