"""/dashboard/transfer over HTTP (both storage modes): CSV upload with a report, the streamed
progress the page's script asks for, export."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx

from tests.web.test_pages import HTML, csrf_of, page_token, register

HEADER = "key,url,title,tags,created_at,expires_at,max_clicks,redirect_type,is_active,clicks\n"


NDJSON = {"accept": "application/x-ndjson"}


async def _upload(
    client: httpx.AsyncClient, text: str, token: str | None, headers: dict[str, str] = HTML
) -> httpx.Response:
    data = {"csrf_token": token} if token is not None else {}
    return await client.post(
        "/dashboard/transfer/import",
        data=data,
        files={"file": ("mine.csv", text.encode(), "text/csv")},
        headers=headers,
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


async def test_the_script_gets_progress_lines_then_the_summary(client: httpx.AsyncClient) -> None:
    await register(client)
    token = await page_token(client)
    lines = [f"stream-{i},https://stream.example/{i},,,,,,,,\n" for i in range(2500)]
    lines[1498] = "stream-bad,not a url,,,,,,,,\n"  # line 1500 (the header is line 1)
    lines.insert(2000, "\n")  # a blank line is not a row
    answer = await _upload(client, HEADER + "".join(lines), token, NDJSON)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-ndjson"
    assert answer.headers["cache-control"] == "no-store"
    events = [json.loads(line) for line in answer.text.splitlines()]
    assert events[0] == {"event": "start", "total": 2500, "format": "shortener"}
    assert [(e["event"], e["rows"], e["total"]) for e in events[1:-1]] == [
        ("progress", 1000, 2500),
        ("progress", 2000, 2500),
        ("progress", 2500, 2500),
    ]
    done = events[-1]
    assert done["event"] == "done" and done["rows"] == 2500
    # The summary is the page's own partial, escaped by Jinja like the page.
    assert 'id="import-created">2,499<' in done["html"]
    assert 'id="import-errors">1<' in done["html"]
    assert re.search(r'<tr><td class="num">1500</td><td>url: [^<]+</td></tr>', done["html"])
    listed = await client.get("/dashboard", params={"q": "stream-2499"})
    assert "https://stream.example/2499" in listed.text


async def test_the_scripts_failures_are_json_it_can_show(client: httpx.AsyncClient) -> None:
    await register(client)
    token = await page_token(client)
    unreadable = await _upload(client, "nothing,we,know\n1,2,3\n", token, NDJSON)
    assert unreadable.status_code == 422
    [problem] = unreadable.json()["detail"]
    assert problem["loc"] == ["body", "file"] and "no URL column" in problem["msg"]
    refused = await _upload(client, HEADER + "x,https://x.example/,,,,,,,,\n", None, NDJSON)
    assert refused.status_code == 403
    assert "security token" in refused.json()["detail"]
