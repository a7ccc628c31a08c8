"""`shortener import --from yourls|kutt|shlink URL --api-key KEY`: a running instance's links
moved into the test's database (both storage modes), and a second run creating nothing.

YOURLS and Kutt are read from this service's own compatibility endpoints, served for real by
uvicorn over a database of their own. Shlink's REST API is served by another branch; until it
is merged, the Shlink path reads a small stand-in answering Shlink's documented v3 shapes
(test_import_from_shlink says which test to point at the real endpoints).
"""

from __future__ import annotations

import asyncio
import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shortener.cli import main
from shortener.config import Settings
from shortener.db import make_engine
from shortener.main import create_app
from shortener.models import ClickDimensionDaily
from tests.factories import PASSWORD
from tests.processes import ThreadedServer


@pytest.fixture
def source(sqlite_template: Path, tmp_path: Path) -> Iterator[ThreadedServer]:
    """This service, serving its compatibility APIs from a database of its own."""
    db = tmp_path / "source.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{db}",
        redis_url=None,
        secret_key="source-secret-key-that-is-long-enough-for-hs256",
        base_url="http://old.example",
        rate_limits_enabled=False,
    )
    server = ThreadedServer(create_app(settings))
    server.start()
    yield server
    server.stop()


def _seed(server: ThreadedServer, count: int) -> str:
    """An account with `count` links on the source; returns an API key of it."""
    with httpx.Client(base_url=server.url) as http:
        email = "source@example.com"
        assert http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        token = http.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for n in range(count):
            body: dict[str, Any] = {"url": f"https://moved.example/{n}", "title": f"Link {n}"}
            if n % 2 == 0:
                body["alias"] = f"moved-{n}"
            assert http.post("/api/links", json=body, headers=headers).status_code == 201
        key = http.post("/api/keys", json={"name": "move"}, headers=headers)
        return str(key.json()["key"])


def _exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    target = tmp_path / "out.csv"
    assert main(["export", str(target)]) == 0
    capsys.readouterr()
    return sorted(csv.DictReader(target.open(newline="")), key=lambda row: row["url"])


@pytest.mark.parametrize("kind", ["yourls", "kutt"])
def test_import_from_this_service(kind, source, cli_env, tmp_path, capsys) -> None:
    count = 57  # more than a page of Kutt's (50)
    key = _seed(source, count)
    cli_env("mover@example.com")

    assert main(["import", "--from", kind, source.url, "--api-key", key]) == 0
    out = capsys.readouterr().out
    assert f"{count} created, 0 skipped, 0 errors (from {kind} at {source.url})" in out
    rows = _exported(tmp_path, capsys)
    assert len(rows) == count
    by_url = {row["url"]: row for row in rows}
    assert by_url["https://moved.example/4"]["key"] == "moved-4"  # keys kept
    assert by_url["https://moved.example/4"]["title"] == "Link 4"
    assert len({row["key"] for row in rows}) == count

    # A second run finds every key already here, for the same URL: nothing new.
    assert main(["import", "--from", kind, source.url, "--api-key", key]) == 0
    assert f"0 created, {count} skipped, 0 errors" in capsys.readouterr().out
    assert len(_exported(tmp_path, capsys)) == count


def test_import_refusals(source, cli_env, capsys) -> None:
    cli_env("mover@example.com")
    assert main(["import", "--from", "kutt", source.url, "--api-key", "sk_wrong"]) == 1
    assert "refused the API key (HTTP 401)" in capsys.readouterr().err
    assert main(["import", "--from", "yourls", "http://127.0.0.1:9", "--api-key", "k"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    assert main(["import", "--from", "kutt", source.url]) == 2
    assert main(["import", "links.csv", "--api-key", "k"]) == 2


# ---- Shlink ------------------------------------------------------------------------------

SHLINK_KEY = "shlink-api-key"
SHORT_URLS = [
    {
        "shortCode": f"sh{n}",
        "shortUrl": f"https://s.example/sh{n}",
        "longUrl": f"https://shlinked.example/{n}",
        "dateCreated": "2023-05-01T10:00:00+02:00",
        "tags": ["moved", f"t{n % 2}"],
        "meta": {"validSince": None, "validUntil": "2099-01-01T00:00:00+00:00",
                 "maxVisits": 100 if n == 0 else None},
        "domain": None,
        "title": f"Shlinked {n}",
        "crawlable": False,
        "forwardQuery": True,
        "visitsSummary": {"total": 3 if n == 0 else 0, "nonBots": 3, "bots": 0},
    }
    for n in range(7)
]  # fmt: skip
SHORT_URLS[6]["domain"] = "links.example"  # Shlink names it with ?domain= (a visit there)
VISITS = {
    "sh0": [
        {"referer": "https://news.example/a", "date": "2024-01-02T10:00:00+00:00",
         "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
         "visitLocation": {"countryCode": "DE", "countryName": "Germany", "cityName": "Berlin"},
         "potentialBot": False, "visitedUrl": "https://s.example/sh0"},
    ] * 2 + [
        {"referer": "", "date": "2024-01-03T11:30:00+00:00", "userAgent": "curl/8.0",
         "visitLocation": None, "potentialBot": True, "visitedUrl": "https://s.example/sh0"},
    ],
    "sh6": [
        {"referer": "", "date": "2024-02-01T00:00:00+00:00", "userAgent": "Mozilla/5.0",
         "visitLocation": {"countryCode": "FR"}, "potentialBot": False},
    ],
}  # fmt: skip


def _page(items: list[Any], request: Request) -> tuple[list[Any], dict[str, int]]:
    page = int(request.query_params.get("page", 1))
    per = int(request.query_params.get("itemsPerPage", 10))
    chunk = items[(page - 1) * per : page * per]
    pages = max(1, -(-len(items) // per))
    return chunk, {"currentPage": page, "pagesCount": pages, "itemsPerPage": per,
                   "itemsInCurrentPage": len(chunk), "totalItems": len(items)}  # fmt: skip


def _shlink_stand_in() -> Starlette:
    """Shlink's GET /rest/v3/short-urls and /short-urls/{shortCode}/visits, as its swagger
    describes them (docs/swagger in the Shlink repository), over the data above."""

    def authorised(request: Request) -> bool:
        return request.headers.get("X-Api-Key") == SHLINK_KEY

    async def short_urls(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"type": "https://shlink.io/api/error/invalid-api-key",
                                 "title": "Invalid API key", "status": 401}, 401)  # fmt: skip
        data, pagination = _page(SHORT_URLS, request)
        return JSONResponse({"shortUrls": {"data": data, "pagination": pagination}})

    async def visits(request: Request) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"status": 401}, 401)
        code = request.path_params["code"]
        [short_url] = [s for s in SHORT_URLS if s["shortCode"] == code]
        if request.query_params.get("domain") != short_url["domain"]:
            return JSONResponse({"type": "https://shlink.io/api/error/short-url-not-found",
                                 "status": 404}, 404)  # fmt: skip
        data, pagination = _page(VISITS.get(code, []), request)
        return JSONResponse({"visits": {"data": data, "pagination": pagination}})

    return Starlette(
        routes=[
            Route("/rest/v3/short-urls", short_urls),
            Route("/rest/v3/short-urls/{code}/visits", visits),
        ]
    )


@pytest.fixture
def shlink() -> Iterator[ThreadedServer]:
    server = ThreadedServer(_shlink_stand_in())
    server.start()
    yield server
    server.stop()


def test_import_from_shlink(shlink, cli_env, settings, tmp_path, capsys, monkeypatch) -> None:
    # Once the shlink branch is merged, seed this service (the `source` fixture) with links and
    # clicks and read its /rest/v3/ instead of this stand-in.
    from shortener.transfer import remote

    monkeypatch.setitem(remote.PAGE, "shlink", 3)  # several pages of links
    cli_env("mover@example.com")
    command = ["import", "--from", "shlink", shlink.url, "--api-key", SHLINK_KEY]
    assert main(command) == 0
    assert f"7 created, 0 skipped, 0 errors, 4 visits (from shlink at {shlink.url})" in (
        capsys.readouterr().out
    )
    rows = {row["key"]: row for row in _exported(tmp_path, capsys)}
    assert set(rows) == {f"sh{n}" for n in range(7)}
    first = rows["sh0"]
    assert (first["url"], first["title"], first["tags"]) == (
        "https://shlinked.example/0", "Shlinked 0", "moved|t0",
    )  # fmt: skip
    assert first["created_at"].startswith("2023-05-01T08:00:00")
    assert first["expires_at"].startswith("2099-01-01")
    assert (first["max_clicks"], first["clicks"]) == ("100", "3")
    # Visits are clicks, with their breakdowns; a second run writes none of them again.
    assert _country_clicks(settings) == {"DE": 2, "": 1, "FR": 1}
    assert main(command) == 0
    assert "0 created, 7 skipped, 0 errors, 0 visits" in capsys.readouterr().out
    assert [row["clicks"] for row in _exported(tmp_path, capsys)] == ["3", "0", "0", "0", "0",
                                                                      "0", "1"]  # fmt: skip
    assert _country_clicks(settings) == {"DE": 2, "": 1, "FR": 1}


def _country_clicks(settings: Settings) -> dict[str, int]:
    async def read() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(ClickDimensionDaily.value, func.sum(ClickDimensionDaily.clicks))
                    .where(ClickDimensionDaily.dimension == "country")
                    .group_by(ClickDimensionDaily.value)
                )
                return {value: int(clicks) for value, clicks in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())
