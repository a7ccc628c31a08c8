"""One set of link rules for every way in: the API (create, patch, bulk), CSV import (API,
dashboard, CLI) and the dashboard's forms all refuse a blocked domain, a loop to this service and
a bad key alike; imports make the link cache forget the keys they create."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shortener.cli import main
from shortener.links.validation import imported_key_problem
from tests.factories import make_link, make_user
from tests.web.test_pages import HTML, csrf_of, field_error, register

BLOCKED = "https://www.evil.example/phish"
LOOP = "http://short.test/loop"  # tests/conftest.py's BASE_URL host
HEADER = "key,url\n"


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(blocked_domains="evil.example")


def _csv(*rows: tuple[str, str]) -> bytes:
    return (HEADER + "".join(f"{key},{url}\n" for key, url in rows)).encode()


async def _api_import(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> Any:
    files = {"file": ("links.csv", body, "text/csv")}
    response = await client.post("/api/links/import", files=files, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _redirects(client: httpx.AsyncClient, key: str) -> int:
    return (await client.get(f"/{key}")).status_code


async def test_api_create_and_patch_refuse_a_blocked_domain(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    r = await client.post("/api/links", json={"url": BLOCKED}, headers=headers)
    assert r.status_code == 422 and "evil.example" in r.text
    link = await make_link(client, headers)
    r = await client.patch(f"/api/links/{link['key']}", json={"url": BLOCKED}, headers=headers)
    assert r.status_code == 422 and "evil.example" in r.text


async def test_bulk_refuses_a_blocked_domain_item_by_item(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    body = {
        "links": [
            {"url": "https://fine.example/", "alias": "bulk-fine"},
            {"url": BLOCKED, "alias": "bulk-blocked"},
            {"url": "https://fine.example/", "fallback_url": BLOCKED},
            {"url": LOOP},
        ]
    }
    r = await client.post("/api/links/bulk", json=body, headers=headers)
    assert r.status_code == 200, r.text
    statuses = [(item["status"], item.get("detail") or "") for item in r.json()["results"]]
    assert statuses[0][0] == "created"
    assert statuses[1][0] == "error" and "evil.example" in statuses[1][1]
    assert statuses[2][0] == "error" and "evil.example" in statuses[2][1]
    assert statuses[3][0] == "error" and "back at this service" in statuses[3][1]
    assert await _redirects(client, "bulk-blocked") == 404


async def test_api_import_refuses_a_blocked_domain(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    body = _csv(("imp-ok", "https://fine.example/"), ("blk1", BLOCKED), ("loop1", LOOP))
    result = await _api_import(client, headers, body)
    assert result["created"] == 1
    assert [(e["line"], "evil.example" in e["detail"]) for e in result["errors"]] == [
        (3, True),
        (4, False),
    ]
    assert "back at this service" in result["errors"][1]["detail"]
    assert await _redirects(client, "blk1") == 404
    assert await _redirects(client, "imp-ok") == 302


async def test_dashboard_forms_refuse_a_blocked_domain(client: httpx.AsyncClient) -> None:
    await register(client)
    page = await client.get("/dashboard")
    r = await client.post(
        "/dashboard/links",
        data={"url": BLOCKED, "alias": "dash-blk", "csrf_token": csrf_of(page)},
        headers=HTML,
    )
    assert r.status_code == 422
    assert "evil.example" in field_error(r, "url")
    assert await _redirects(client, "dash-blk") == 404


async def test_dashboard_import_refuses_a_blocked_domain(client: httpx.AsyncClient) -> None:
    await register(client)
    page = await client.get("/dashboard/transfer")
    r = await client.post(
        "/dashboard/transfer/import",
        data={"csrf_token": csrf_of(page)},
        files={"file": ("x.csv", _csv(("dash-imp-blk", BLOCKED)), "text/csv")},
        headers=HTML,
    )
    assert r.status_code == 200, r.text
    assert 'id="import-created">0<' in r.text and "evil.example" in r.text
    assert await _redirects(client, "dash-imp-blk") == 404


def test_cli_import_refuses_a_blocked_domain(cli_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    cli_env("cli-blk@example.com")
    source = tmp_path / "links.csv"
    source.write_bytes(_csv(("cli-ok", "https://fine.example/"), ("cli-blk", BLOCKED)))
    assert main(["import", str(source)]) == 1
    out = capsys.readouterr()
    assert "1 created" in out.out
    assert "line 3" in out.err and "evil.example" in out.err


async def test_an_import_makes_the_cache_forget_its_keys(client: httpx.AsyncClient) -> None:
    """A key asked for before it existed is remembered as unknown; the import that creates it
    must make every cache forget that, before the import answers."""
    headers = await make_user(client)
    assert await _redirects(client, "later-key") == 404  # now cached as unknown
    await _api_import(client, headers, _csv(("later-key", "https://later.example/")))
    assert await _redirects(client, "later-key") == 302


def test_imported_keys_follow_the_alias_rules_but_may_be_short() -> None:
    assert imported_key_problem("ab") is None
    assert imported_key_problem("api") is not None  # reserved
    assert imported_key_problem("has space") is not None
