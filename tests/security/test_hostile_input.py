"""Hostile input, as a table: every answer is a 4xx with a `detail`, and the server lives on."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shortener.main import create_app
from tests.conftest import LIVE_TIMEOUT
from tests.factories import make_link, make_user
from tests.processes import ThreadedServer

MB = 1024 * 1024

BAD_URLS = {
    "javascript": "javascript:alert(document.cookie)",
    "javascript mixed case": "JaVaScRiPt:alert(1)",
    "javascript after spaces": "  javascript:alert(1)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file": "file:///etc/passwd",
    "ftp": "ftp://example.com/file",
    "no host": "http://",
    "own host": "http://short.test/abc",
    "own host, loud, trailing dot": "HTTPS://SHORT.TEST./abc",
    "own host with a port": "http://short.test:8080/abc",
    "3000 characters": "https://example.com/" + "a" * 3000,
    "CR/LF (header injection)": "https://example.com/\r\nSet-Cookie: session=evil",
    "space in host": "https://exa mple.com/",
    "bad port": "https://example.com:99999/",
    "unclosed IPv6": "https://[::1/",
    "empty": "",
    "NUL": "https://example.com/\x00",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
async def test_bad_target_urls_are_422(client: httpx.AsyncClient, url: str) -> None:
    headers = await make_user(client)
    r = await client.post("/api/links", json={"url": url}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]
    assert (await client.get("/healthz")).status_code == 200


GOOD_URLS = {
    "IDN": (
        "https://bücher.example/straße?q=ü",
        "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC",
    ),
    "percent-encoded": (
        "https://example.com/a%20b%2Fc?x=%00&y=%0D%0A",
        "https://example.com/a%20b%2Fc?x=%00&y=%0D%0A",
    ),
    "IPv6 and port": ("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    "2048 characters": ("https://example.com/" + "a" * 2028, "https://example.com/" + "a" * 2028),
}


@pytest.mark.parametrize(("url", "location"), GOOD_URLS.values(), ids=GOOD_URLS.keys())
async def test_unusual_but_valid_urls_are_accepted(
    client: httpx.AsyncClient, url: str, location: str
) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, url=url)
    r = await client.get(f"/{link['key']}")
    assert r.status_code == 302
    assert r.headers["location"] == location  # ASCII only: a header cannot carry more


HOSTILE_KEYS = {
    "dot dot": "%2E%2E",
    "dot dot slash": "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "NUL": "abc%00def",
    "quotes": "a'b%22c",
    "5000 characters": "a" * 5000,
    "script": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "CRLF": "abc%0D%0ASet-Cookie:%20x=1",
    "unicode": "%E2%80%AE%E2%80%AEabc",
}


@pytest.mark.parametrize("key", HOSTILE_KEYS.values(), ids=HOSTILE_KEYS.keys())
async def test_hostile_keys_are_404_everywhere(client: httpx.AsyncClient, key: str) -> None:
    headers = await make_user(client)
    for method, path, kwargs in [
        ("GET", f"/{key}", {}),
        ("HEAD", f"/{key}", {}),
        ("POST", f"/{key}", {"data": {"password": "x"}}),
        ("GET", f"/api/links/{key}", {"headers": headers}),
        ("PATCH", f"/api/links/{key}", {"headers": headers, "json": {"title": "t"}}),
        ("DELETE", f"/api/links/{key}", {"headers": headers}),
    ]:
        r = await client.request(method, path, **kwargs)
        assert r.status_code in (404, 405), (method, path, r.status_code)
        if method != "HEAD":
            assert r.json()["detail"], (method, path)
        assert "set-cookie" not in r.headers
    html = await client.get(f"/{key}", headers={"accept": "text/html"})
    assert html.status_code == 404
    assert "<script>alert" not in html.text  # reflected input is escaped


HOSTILE_ALIASES = ["..", "a/b", "a\x00b", "a'b", 'a"b', "a" * 5000, "<b>x</b>", "api", "ab"]


@pytest.mark.parametrize("alias", HOSTILE_ALIASES)
async def test_hostile_aliases_are_422(client: httpx.AsyncClient, alias: str) -> None:
    headers = await make_user(client)
    r = await client.post(
        "/api/links", json={"url": "https://example.com/", "alias": alias}, headers=headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def _nested(depth: int, opener: str, closer: str, inner: str = "1") -> bytes:
    return (opener * depth + inner + closer * depth).encode()


BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "truncated JSON": (b'{"url": ', "application/json"),
    "not JSON at all": (b"<xml>hello</xml>", "application/json"),
    "invalid UTF-8": (b'{"url": "https://example.com/\xff\xfe"}', "application/json"),
    "10000 nested arrays": (_nested(10_000, "[", "]"), "application/json"),
    "10000 nested objects": (_nested(10_000, '{"a":', "}"), "application/json"),
    "100000 nested arrays": (_nested(100_000, "[", "]"), "application/json"),
    "deep inside a field": (
        b'{"url": "https://example.com/", "tags": ' + _nested(5000, "[", "]") + b"}",
        "application/json",
    ),
    "null": (b"null", "application/json"),
    "a list": (b'["https://example.com/"]', "application/json"),
    "a 5000-digit number": (
        b'{"url": "https://example.com/", "max_clicks": ' + b"9" * 5000 + b"}",
        "application/json",
    ),
    "infinity": (b'{"url": "https://example.com/", "max_clicks": 1e999}', "application/json"),
    "NaN": (b'{"url": "https://example.com/", "max_clicks": NaN}', "application/json"),
    "wrong field types": (b'{"url": 5, "tags": "x", "redirect_type": "302"}', "application/json"),
    "unknown fields": (b'{"url": "https://example.com/", "owner_id": 1}', "application/json"),
    "text/plain": (b'{"url": "https://example.com/"}', "text/plain"),
    "form-encoded": (b"url=https%3A%2F%2Fexample.com%2F", "application/x-www-form-urlencoded"),
    "multipart": (
        b'--b\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://e.com/\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "no content type": (b'{"url": "https://example.com/"}', ""),
    "5 MB": (b'{"url": "https://example.com/' + b"a" * (5 * MB) + b'"}', "application/json"),
}


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_bodies_are_4xx_with_detail(
    client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    headers = await make_user(client)
    if content_type:
        headers["content-type"] = content_type
    for path in ("/api/links", "/api/auth/register", "/api/users/me/password"):
        r = await client.post(path, content=body, headers=headers)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        assert r.json()["detail"], path
    assert (await client.get("/healthz")).status_code == 200


BAD_QUERIES = [
    "limit=abc",
    "limit=0",
    "limit=100000000000000000000000000000",
    "offset=-1",
    "offset=1e9999",
    "q=" + "x" * 5000,
    "tag=" + "t" * 500,
    "limit=1&limit=abc",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_bad_query_strings_are_422(client: httpx.AsyncClient, query: str) -> None:
    headers = await make_user(client)
    r = await client.get(f"/api/links?{query}", headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


async def test_odd_but_harmless_queries_work(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    for query in ("q=%25", "q=_", "q=%27%3B%20DROP%20TABLE%20links%3B--", "tag=%27%22"):
        r = await client.get(f"/api/links?{query}", headers=headers)
        assert r.status_code == 200, (query, r.text)
        assert r.json()["items"] == []


async def test_nul_characters_are_never_a_5xx(client: httpx.AsyncClient) -> None:
    """SQLite stores NUL in text, PostgreSQL refuses it: a 422 there, never a 500."""
    headers = await make_user(client)
    attempts = [
        ("GET", "/api/links?q=%00", {}),
        ("GET", "/api/links?tag=a%00", {}),
        ("POST", "/api/links", {"json": {"url": "https://e.com/", "title": "a\x00b"}}),
        ("POST", "/api/links", {"json": {"url": "https://e.com/", "tags": ["a\x00"]}}),
        ("POST", "/api/links", {"json": {"url": "https://e.com/", "password": "a\x00"}}),
    ]
    for method, path, kwargs in attempts:
        r = await client.request(method, path, headers=headers, **kwargs)
        assert r.status_code in (200, 201, 422), (path, kwargs, r.status_code, r.text)
        assert r.json()
        if r.status_code == 422:
            assert "NUL" in r.json()["detail"][0]["msg"]
    r = await client.post("/api/auth/token", data={"username": "a\x00@e.com", "password": "x"})
    assert r.status_code in (401, 422)


BAD_CREDENTIALS = {
    "email with CRLF": {"email": "a@example.com\r\nBcc: x@example.com", "password": "x" * 10},
    "email 5000 chars": {"email": "a" * 5000 + "@example.com", "password": "x" * 10},
    "password too long": {"email": "a@example.com", "password": "x" * 5000},
    "password not a string": {"email": "a@example.com", "password": ["x" * 10]},
}


@pytest.mark.parametrize("body", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
async def test_bad_registrations_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.post("/api/auth/register", json=body)
    assert r.status_code == 422
    assert r.json()["detail"]


async def test_bad_sign_ins_are_4xx(client: httpx.AsyncClient) -> None:
    for data in (
        {"username": "a" * 5000, "password": "x"},
        {"username": "a@example.com\r\nX: y", "password": "x"},
        {"username": "a@example.com"},
        {},
        {"username": "a@example.com", "password": "x", "grant_type": "client_credentials"},
    ):
        r = await client.post("/api/auth/token", data=data)
        assert r.status_code in (401, 422), (data, r.status_code)
        assert r.json()["detail"]
    # JSON is a sign-in body too now (the new-user issue): a wrong one is the same 401.
    r = await client.post("/api/auth/token", json={"username": "a", "password": "b"})
    assert r.status_code == 401 and r.json()["detail"]
    r = await client.post("/api/auth/token", json={"username": "a"})
    assert r.status_code == 422 and r.json()["detail"]


# ---- raw bytes over a socket: what httpx refuses to send --------------------------------


@pytest.fixture
def live(settings: object) -> Iterator[ThreadedServer]:
    server = ThreadedServer(create_app(settings))  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(65536), timeout=LIVE_TIMEOUT)
    finally:
        writer.close()
    status_line = response.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), response


RAW_REQUESTS = {
    "CR inside a header value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n",
    "LF inside a header value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\nb: c\r\n\r\n",
    "NUL inside a header value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00b\r\n\r\n",
    "CRLF in the request target": b"GET /abc\r\nSet-Cookie: x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    "space in a header name": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX Evil: 1\r\n\r\n",
    "obsolete line folding": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n",
    "CRLF in Authorization": (
        b"GET /api/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\rSet-Cookie: x\r\n\r\n"
    ),
    "raw dot-dot path": b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw NUL path": b"GET /abc%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    # Served as the local path (here one that does not exist), never fetched from elsewhere.
    "absolute-form target elsewhere": (
        b"GET http://evil.example/api/nope HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
    "bad Content-Length": (
        b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
    ),
    "conflicting framing": (
        b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
}


@pytest.mark.parametrize("request_bytes", RAW_REQUESTS.values(), ids=RAW_REQUESTS.keys())
async def test_raw_malformed_requests_are_4xx_and_the_server_lives_on(
    live: ThreadedServer, request_bytes: bytes
) -> None:
    status, response = await _raw(live.port, request_bytes)
    assert 400 <= status < 500, response[:300]
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"set-cookie" not in head.lower()
    if b"application/json" in head.lower():
        assert b'"detail"' in body
    # (Requests the HTTP parser rejects get uvicorn's own plain-text 400 before any app code.)
    async with httpx.AsyncClient(base_url=live.url, timeout=LIVE_TIMEOUT) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_a_100_kb_header_is_no_trouble(live: ThreadedServer) -> None:
    """Well-formed, only big: answered normally (uvicorn's parser sets the limits)."""
    big = b"GET /nope-nope HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    status, response = await _raw(live.port, big)
    assert status == 404, response[:300]


# ---- the adversarial pass's findings 8, 10 and 12 -----------------------------------------

# Each leaves the calendar once in UTC (or, for the last, one day later): the answer is a 422.
CALENDAR_ENDS = {
    "the last second, west of UTC": "9999-12-31T23:59:59-14:00",
    "the first second, east of UTC": "0001-01-01T00:00:00+14:00",
    "the last day": "9999-12-31T12:00:00Z",
}


@pytest.mark.parametrize("moment", CALENDAR_ENDS.values(), ids=CALENDAR_ENDS.keys())
async def test_dates_at_the_ends_of_the_calendar_are_422(
    client: httpx.AsyncClient, moment: str
) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    for method, path, body in [
        ("POST", "/api/links", {"url": "https://e.com/", "expires_at": moment}),
        ("PATCH", f"/api/links/{link['key']}", {"expires_at": moment}),
    ]:
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code == 422, (method, r.status_code, r.text)
        assert "expires_at" in r.json()["detail"][0]["loc"]
    r = await client.post(
        "/api/links/bulk",
        json={"links": [{"url": "https://e.com/", "expires_at": moment}]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "error"
    assert "expires_at" in r.json()["results"][0]["detail"]
    for name in ("from", "to"):
        for path in ("/api/stats", f"/api/links/{link['key']}/stats"):
            r = await client.get(path, params={name: moment}, headers=headers)
            assert r.status_code == 422, (path, name, r.status_code, r.text)
            assert r.json()["detail"][0]["loc"] == ["query", name]


@pytest.mark.parametrize("moment", CALENDAR_ENDS.values(), ids=CALENDAR_ENDS.keys())
async def test_import_rows_with_dates_off_the_calendar_are_row_errors(
    client: httpx.AsyncClient, moment: str
) -> None:
    headers = await make_user(client)
    data = (
        "key,url,title,tags,created_at,expires_at,max_clicks,redirect_type,is_active,clicks\r\n"
        f"edge1,https://e.com/1,,,{moment},,,302,true,0\r\n"
        f"edge2,https://e.com/2,,,,{moment},,302,true,0\r\n"
    )
    r = await client.post(
        "/api/links/import", files={"file": ("l.csv", data, "text/csv")}, headers=headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 0
    assert [(e["line"], e["detail"].split(":")[0]) for e in body["errors"]] == [
        (2, "created_at"),
        (3, "expires_at"),
    ]


async def _signed_in_page_token(client: httpx.AsyncClient) -> str:
    from tests.web.test_pages import page_token, register

    await register(client)
    return await page_token(client)


async def test_dashboard_dates_off_the_calendar_are_shown_not_500(
    client: httpx.AsyncClient,
) -> None:
    token = await _signed_in_page_token(client)
    moment = CALENDAR_ENDS["the last second, west of UTC"]
    r = await client.post(
        "/dashboard/links",
        data={"url": "https://e.com/", "expires_at": moment, "csrf_token": token},
    )
    assert r.status_code == 422, r.text[:300]
    assert "must lie between 0001-01-02 and 9999-12-30 (UTC)" in r.text
    r = await client.post("/dashboard/links", data={"url": "https://e.com/", "csrf_token": token})
    assert r.status_code == 303  # a link, so that the overview and its window show
    for window in (
        "window=custom&from=9999-12-31&to=9999-12-31",
        "window=custom&from=0001-01-01&to=0001-01-01",
        "window=custom&from=9999-12-31&to=9999-12-31&interval=hour",
    ):
        r = await client.get(f"/dashboard?{window}")
        assert r.status_code == 200, (window, r.status_code, r.text[:300])
        assert "The dates of a custom window must lie between" in r.text


CONTROL_TEXT = {"NUL": "a\x00b", "escape": "a\x1b[31mb", "C1": "a\x85b", "DEL": "a\x7fb"}


@pytest.mark.parametrize("text", CONTROL_TEXT.values(), ids=CONTROL_TEXT.keys())
async def test_control_characters_in_user_text_are_422(
    client: httpx.AsyncClient, text: str
) -> None:
    headers = await make_user(client)
    admin = await make_user(client, admin=True)
    link = await make_link(client, headers)
    attempts: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", "/api/links", {"json": {"url": "https://e.com/", "title": text}}, headers),
        ("POST", "/api/links", {"json": {"url": "https://e.com/", "tags": [text]}}, headers),
        ("POST", "/api/links", {"json": {"url": "https://e.com/", "og_title": text}}, headers),
        (
            "POST",
            "/api/links",
            {"json": {"url": "https://e.com/", "og_description": text}},
            headers,
        ),
        ("PATCH", f"/api/links/{link['key']}", {"json": {"og_title": text}}, headers),
        ("PATCH", f"/api/links/{link['key']}", {"json": {"og_description": text}}, headers),
        ("GET", "/api/links", {"params": {"q": text}}, headers),
        ("GET", "/api/links", {"params": {"tag": text}}, headers),
        ("POST", "/api/keys", {"json": {"name": text, "scopes": ["links:read"]}}, headers),
        ("GET", "/api/admin/users", {"params": {"q": text}}, admin),
    ]
    for method, path, kwargs, who in attempts:
        r = await client.request(method, path, headers=who, **kwargs)
        assert r.status_code == 422, (method, path, kwargs, r.status_code, r.text)
        assert "control character" in r.json()["detail"][0]["msg"], r.text


async def test_admin_search_for_nul_does_not_match_everyone(client: httpx.AsyncClient) -> None:
    """SQLite ends a LIKE pattern at a NUL: '%\\x00%' was '%', and every account matched."""
    admin = await make_user(client, admin=True)
    await make_user(client)
    r = await client.get("/api/admin/users?q=%00", headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


async def test_line_breaks_stay_meaningful_in_a_description(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    text = "line one\r\nline two\tindented"
    link = await make_link(client, headers, og_description=text)
    assert link["og_description"] == text
    r = await client.post(
        "/api/links", json={"url": "https://e.com/", "title": "two\nlines"}, headers=headers
    )
    assert r.status_code == 422, r.text


FORMULAS = {
    "=": '=HYPERLINK("https://evil.example","click")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "CR": "\r=1+1",
}


async def test_csv_export_neutralises_formulas_and_import_restores_them(
    client: httpx.AsyncClient,
) -> None:
    headers = await make_user(client)
    titles = {}
    for name, formula in FORMULAS.items():
        if name in ("tab", "CR"):
            continue  # titles are one line of text; the tags carry these (below)
        link = await make_link(client, headers, title=formula, tags=["-minus", "@at"])
        titles[link["key"]] = formula
    r = await client.get("/api/links/export", headers=headers)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.text)))
    header, data = rows[0], rows[1:]
    for row in data:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", (header, row)
        assert row[header.index("title")] == "'" + titles[row[header.index("key")]]
        assert row[header.index("tags")] == "'-minus|@at"
    # Our own import reads the guard back off: the links come back as they were.
    for key in titles:
        assert (await client.delete(f"/api/links/{key}", headers=headers)).status_code == 204
    r = await client.post(
        "/api/links/import", files={"file": ("l.csv", r.text, "text/csv")}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == len(titles), r.json()
    for key, title in titles.items():
        link = (await client.get(f"/api/links/{key}", headers=headers)).json()
        assert link["title"] == title
        assert link["tags"] == ["-minus", "@at"]


async def test_utf8_referrer_hosts_are_punycode_not_mojibake(
    client: httpx.AsyncClient, app: Any
) -> None:
    from tests.clicks.traffic import CHROME_WINDOWS, wait_written

    headers = await make_user(client)
    link = await make_link(client, headers)
    for referrer in ("https://bücher.example/x".encode(), b"https://xn--bcher-kva.example/y"):
        visitor = {"referer": referrer, "user-agent": CHROME_WINDOWS.encode()}
        r = await client.get(f"/{link['key']}", headers=visitor)
        assert r.status_code == 302
    await wait_written(app, 2)
    r = await client.get(f"/api/links/{link['key']}/stats", headers=headers)
    assert r.json()["referrers"] == [{"value": "xn--bcher-kva.example", "clicks": 2}]


async def test_dashboard_searches_with_control_characters_are_refused(
    client: httpx.AsyncClient,
) -> None:
    await _signed_in_page_token(client)
    for query in ("q=%00", "tag=a%00", "q=a%1B"):
        r = await client.get(f"/dashboard?{query}")
        assert r.status_code == 422, (query, r.status_code, r.text[:300])
        assert "control characters" in r.text
