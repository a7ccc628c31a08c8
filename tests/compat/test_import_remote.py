"""`shortener import --from yourls|kutt|shlink URL --api-key KEY`: a running instance's links
moved into the test's database (both storage modes), and a second run creating nothing.

YOURLS, Kutt and Shlink are read from this service's own compatibility endpoints, served for
real by uvicorn over a database of their own.
"""

from __future__ import annotations

import asyncio
import csv
import http.server
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shortener.cli import main
from shortener.config import Settings
from shortener.db import make_engine
from shortener.main import create_app
from shortener.models import ClickDimensionDaily, ClickRollup
from tests.conftest import LIVE_TIMEOUT
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
    with httpx.Client(base_url=server.url, timeout=LIVE_TIMEOUT) as http:
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

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
SHLINK_DOMAIN = "links.example"


def _seed_shlink(server: ThreadedServer, db: Path) -> str:
    """Seven short URLs made through the source's Shlink API (sh6 on a custom domain), with
    four visits (sh0: two from Great Britain and a bot; sh6: one); a Shlink API key of it."""
    with httpx.Client(base_url=server.url, timeout=LIVE_TIMEOUT) as http:
        email = "shlinker@example.com"
        assert http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        # An administrator, who may add a verified domain without its proof.
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE users SET is_admin = 1 WHERE email = ?", (email,))
        token = http.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        domain = {"hostname": SHLINK_DOMAIN, "verified": True}
        assert http.post("/api/domains", json=domain, headers=bearer).status_code == 201
        scopes = ["links:read", "links:write", "stats:read"]
        made = http.post("/api/keys", json={"name": "shlink", "scopes": scopes}, headers=bearer)
        key = {"X-Api-Key": made.json()["key"]}
        for n in range(7):
            body: dict[str, Any] = {
                "longUrl": f"https://shlinked.example/{n}",
                "customSlug": f"sh{n}",
                "title": f"Shlinked {n}",
                "tags": ["moved", f"t{n % 2}"],
                "validUntil": "2099-01-01T00:00:00+00:00",
            }
            if n == 0:
                body["maxVisits"] = 100
            if n == 6:
                body["domain"] = SHLINK_DOMAIN
            created = http.post("/rest/v3/short-urls", json=body, headers=key)
            assert created.status_code == 200, created.text
        # With a custom domain served, the Host names the domain: BASE_URL's is the default.
        gb = {"User-Agent": FIREFOX, "X-Forwarded-For": "81.2.69.160", "Host": "old.example"}
        for headers in (gb, gb, {"User-Agent": "curl/8.0", "Host": "old.example"}):
            assert http.get("/sh0", headers=headers).status_code in (301, 302, 307, 308)
        there = {"User-Agent": FIREFOX, "Host": SHLINK_DOMAIN}
        assert http.get("/sh6", headers=there).status_code in (301, 302, 307, 308)
        # The source's click writer flushes on its own: wait for the visits to be readable.
        deadline = time.monotonic() + 20
        for code, params, count in (("sh0", {}, 3), ("sh6", {"domain": SHLINK_DOMAIN}, 1)):
            while True:
                answer = http.get(f"/rest/v3/short-urls/{code}/visits", params=params, headers=key)
                if answer.json()["visits"]["pagination"]["totalItems"] == count:
                    break
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.1)
        return key["X-Api-Key"]


def test_import_from_shlink(source, cli_env, settings, tmp_path, capsys, monkeypatch) -> None:
    """This service's own Shlink REST API (/rest/v3) as the source, served by uvicorn."""
    from shortener.transfer import remote

    key = _seed_shlink(source, tmp_path / "source.db")
    monkeypatch.setitem(remote.PAGE, "shlink", 3)  # several pages of links
    cli_env("mover@example.com")
    command = ["import", "--from", "shlink", source.url, "--api-key", key]
    assert main(command) == 0
    assert f"7 created, 0 skipped, 0 errors, 4 visits (from shlink at {source.url})" in (
        capsys.readouterr().out
    )
    rows = {row["key"]: row for row in _exported(tmp_path, capsys)}
    assert set(rows) == {f"sh{n}" for n in range(7)}
    first = rows["sh0"]
    assert (first["url"], first["title"], first["tags"]) == (
        "https://shlinked.example/0", "Shlinked 0", "moved|t0",
    )  # fmt: skip
    assert first["created_at"]
    assert first["expires_at"].startswith("2099-01-01")
    # Three visits, one of them curl's: `clicks` counts people (bots apart, issue 18 item 3).
    assert (first["max_clicks"], first["clicks"]) == ("100", "2")
    # Visits are clicks, with their breakdowns; a second run writes none of them again.
    assert _country_clicks(settings) == {"GB": 2, "": 2}
    assert main(command) == 0
    assert "0 created, 7 skipped, 0 errors, 0 visits" in capsys.readouterr().out
    clicks = {row["key"]: row["clicks"] for row in _exported(tmp_path, capsys)}
    assert clicks == {"sh0": "2", "sh6": "1"} | {f"sh{n}": "0" for n in range(1, 6)}
    assert _country_clicks(settings) == {"GB": 2, "": 2}


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
                countries = {value: int(clicks) for value, clicks in rows}
                # No country has no row: it is what the known ones leave of the clicks.
                total = (await conn.execute(select(func.sum(ClickRollup.clicks)))).scalar()
                return countries | {"": int(total or 0) - sum(countries.values())}
        finally:
            await engine.dispose()

    return asyncio.run(read())


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the JSON the test put in `answers` for its path."""

    answers: dict[str, Any] = {}

    def do_GET(self) -> None:
        body = json.dumps(self.answers.get(self.path.split("?")[0], {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


ODD_ANSWERS = [
    ("kutt", "/api/v2/links", []),
    ("kutt", "/api/v2/links", {"data": ["not a link"], "total": 1}),
    ("kutt", "/api/v2/links", {"data": [{"target": "https://a.example/"}], "total": "lots"}),
    ("yourls", "/yourls-api.php", {"links": ["not", "a", "map"]}),
    ("shlink", "/rest/v3/short-urls", {"shortUrls": {"data": [], "pagination": "none"}}),
    (
        "shlink",
        "/rest/v3/short-urls",
        {
            "shortUrls": {
                "data": [{"longUrl": "https://a.example/", "shortCode": "odd1"}],
                "pagination": {"pagesCount": "many"},
            }
        },
    ),
]


@pytest.mark.parametrize(("kind", "path", "answer"), ODD_ANSWERS)
def test_a_source_answering_odd_json_is_one_line(kind, path, answer, cli_env, capsys) -> None:
    cli_env("odd@example.com")
    handler = type("Handler", (_Canned,), {"answers": {path: answer}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert main(["import", "--from", kind, url, "--api-key", "k"]) == 1
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"shortener: {url} did not answer as {kind} does"), err
    assert err[-1].endswith("nothing was imported"), err
    assert main(["export"]) == 0
    assert capsys.readouterr().out.strip().count("\n") == 0  # the header only
