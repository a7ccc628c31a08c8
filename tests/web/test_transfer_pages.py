"""/dashboard/transfer over HTTP (both storage modes): CSV upload with a report, export."""

from __future__ import annotations

import csv
import io
import re

import httpx

from tests.web.test_pages import HTML, csrf_of, page_token, register

HEADER = "key,url,title,tags,created_at,expires_at,max_clicks,redirect_type,is_active,clicks\n"


async def _upload(client: httpx.AsyncClient, text: str, token: str | None) -> httpx.Response:
    data = {"csrf_token": token} if token is not None else {}
    return await client.post(
        "/dashboard/transfer/import",
        data=data,
        files={"file": ("mine.csv", text.encode(), "text/csv")},
        headers=HTML,
    )


def _kpi(page: httpx.Response, name: str) -> int:
    match = re.search(rf'id="import-{name}">([\d,]+)<', page.text)
    assert match, name
    return int(match.group(1).replace(",", ""))


async def test_import_reports_created_skipped_and_errors_by_line(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    page = await client.get("/dashboard/transfer")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert 'href="/dashboard/transfer"' in page.text
    text = (
        HEADER
        + "web-imp-1,https://one.example/,<b>One</b>,a|b,,,,,,\n"  # 2 ok
        + "web-imp-2,javascript:alert(1),,,,,,,,\n"  # 3 bad URL
        + ",https://two.example/,,,,,,,,\n"  # 4 ok, random key
        + "web-imp-1,https://one.example/,,,,,,,,\n"  # 5 same row again: skipped
        + "web-imp-3,https://three.example/<script>,,,not-a-date,,,,,\n"  # 6 bad date
    )
    result = await _upload(client, text, csrf_of(page))
    assert result.status_code == 200, result.text
    assert _kpi(result, "created") == 2
    assert _kpi(result, "skipped") == 1
    assert _kpi(result, "errors") == 2
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td></tr>', result.text)
    assert [line for line, _ in rows] == ["3", "6"]
    assert "<script>" not in result.text and "mine.csv" in result.text

    listed = await client.get("/dashboard")
    assert "web-imp-1" in listed.text and "&lt;b&gt;One&lt;/b&gt;" in listed.text

    exported = await client.get("/dashboard/transfer/export.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    out = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["url"] for r in out) == ["https://one.example/", "https://two.example/"]


async def test_import_without_a_usable_file_says_so(client: httpx.AsyncClient) -> None:
    await register(client)
    token = await page_token(client)
    missing = await client.post(
        "/dashboard/transfer/import", data={"csrf_token": token}, files={"x": ("", b"")}
    )
    assert missing.status_code == 422
    assert 'id="file-error"' in missing.text
    unreadable = await _upload(client, "nothing,we,know\n1,2,3\n", token)
    assert unreadable.status_code == 422
    assert 'id="file-error"' in unreadable.text


async def test_import_needs_the_csrf_token_and_a_signed_in_user(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/dashboard/transfer/export.csv")
    assert response.status_code == 303
    await register(client)
    refused = await _upload(client, HEADER + "no-csrf,https://x.example/,,,,,,,,\n", None)
    assert refused.status_code == 403
    assert "no-csrf" not in (await client.get("/dashboard")).text


async def test_export_holds_only_the_users_own_links(client: httpx.AsyncClient) -> None:
    await register(client)
    await _upload(
        client, HEADER + "alice-only,https://a.example/,,,,,,,,\n", await page_token(client)
    )
    client.cookies.clear()
    await register(client)
    exported = await client.get("/dashboard/transfer/export.csv")
    assert exported.status_code == 200
    assert "alice-only" not in exported.text
    assert list(csv.DictReader(io.StringIO(exported.text))) == []
