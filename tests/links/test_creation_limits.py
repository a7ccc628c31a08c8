"""Link-creation limits count links, on every path that creates them: the API, bulk and the
dashboard draw on RATE_LIMIT_LINKS_USER, imports on RATE_LIMIT_IMPORT_USER; the CLI on none."""

from __future__ import annotations

import httpx
import pytest

from shortener.cli import main
from tests.factories import make_user
from tests.web.test_pages import HTML, csrf_of, register


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(
        rate_limits_enabled=True,
        rate_limit_links_user="5/1h",
        rate_limit_import_user="4/1d",
        # Only the per-user budgets are under test; every test client shares one address.
        rate_limit_links_ip="10000/1h",
        rate_limit_register_ip="10000/1h",
        rate_limit_login_ip="10000/1h",
    )


def _bulk(n: int, prefix: str) -> dict[str, list[dict[str, str]]]:
    return {"links": [{"url": f"https://x.example/{i}", "alias": f"{prefix}{i}"} for i in range(n)]}


async def _count(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/api/links", headers=headers)).json()["total"])


async def test_bulk_draws_one_per_link_and_errors_past_the_budget(
    client: httpx.AsyncClient,
) -> None:
    headers = await make_user(client)
    r = await client.post("/api/links/bulk", json=_bulk(8, "bk"), headers=headers)
    assert r.status_code == 200, r.text
    statuses = [item["status"] for item in r.json()["results"]]
    assert statuses == ["created"] * 5 + ["error"] * 3
    assert "RATE_LIMIT_LINKS_USER" in r.json()["results"][5]["detail"]
    assert await _count(client, headers) == 5
    # Nothing is left: the next single create and the next bulk are refused whole.
    r = await client.post("/api/links", json={"url": "https://x.example/"}, headers=headers)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    r = await client.post("/api/links/bulk", json=_bulk(1, "late"), headers=headers)
    assert r.status_code == 429
    # Another user has a budget of their own.
    other = await make_user(client)
    r = await client.post("/api/links/bulk", json=_bulk(5, "ok"), headers=other)
    assert [item["status"] for item in r.json()["results"]] == ["created"] * 5


async def test_failed_items_give_their_link_back(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    bad = [{"url": "javascript:alert(1)"}] * 3 + [{"url": "https://x.example/", "alias": "dup"}] * 2
    r = await client.post("/api/links/bulk", json={"links": bad}, headers=headers)
    assert [i["status"] for i in r.json()["results"]] == ["error"] * 3 + ["created", "error"]
    # One link was created: four are left.
    r = await client.post("/api/links/bulk", json=_bulk(4, "rest"), headers=headers)
    assert [i["status"] for i in r.json()["results"]] == ["created"] * 4


async def test_dashboard_creation_draws_on_the_same_budget(client: httpx.AsyncClient) -> None:
    await register(client)
    page = await client.get("/dashboard")
    statuses = []
    for i in range(6):
        r = await client.post(
            "/dashboard/links",
            data={"url": f"https://x.example/{i}", "csrf_token": csrf_of(page)},
            headers=HTML,
            follow_redirects=False,
        )
        statuses.append(r.status_code)
    assert statuses == [303] * 5 + [429]


async def test_an_import_stops_at_its_budget_and_keeps_what_it_made(
    client: httpx.AsyncClient,
) -> None:
    headers = await make_user(client)
    rows = "".join(f"imp{i},https://x.example/{i}\n" for i in range(6))
    files = {"file": ("links.csv", ("key,url\n" + rows).encode(), "text/csv")}
    r = await client.post("/api/links/import", files=files, headers=headers)
    assert r.status_code == 429, r.text
    assert "RATE_LIMIT_IMPORT_USER" in r.json()["detail"]
    assert r.json()["created"] == 4
    assert await _count(client, headers) == 4
    assert (await client.get("/imp3")).status_code == 302
    assert (await client.get("/imp4")).status_code == 404
    # Imports have a budget apart from the API's: creating through the API still works.
    r = await client.post("/api/links", json={"url": "https://x.example/api"}, headers=headers)
    assert r.status_code == 201
    # Importing the same file again skips what is there and draws nothing for it.
    r = await client.post("/api/links/import", files=files, headers=headers)
    assert r.status_code == 429 and r.json()["skipped"] == 4 and r.json()["created"] == 0


def test_the_cli_import_has_no_budget(cli_env, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    cli_env("cli-quota@example.com")
    source = tmp_path / "links.csv"
    source.write_text("key,url\n" + "".join(f"cli{i},https://x.example/{i}\n" for i in range(9)))
    assert main(["import", str(source)]) == 0
    assert "9 created" in capsys.readouterr().out
