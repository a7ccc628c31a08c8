"""DATABASE_READ_URL: statistics and exports read it, everything else the primary.

Here the "replica" is a second database of the test's own in which the test writes other
clicks than in the primary (the issue allows this stand-in for a streaming replica): an
answer that shows the second database's numbers can only have been read there. The same
account and link are made first in both, so their ids match as a replica's would.
"""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from shortener.cli import main
from shortener.config import Settings
from shortener.doctor import report, run_checks
from shortener.migrate import upgrade
from tests.clicks.traffic import visit, wait_written
from tests.compat.shlink.helpers import api_key
from tests.factories import eventually, make_link, make_user, new_email, running, token_for
from tests.observability.helpers import METRICS_TOKEN, scrape
from tests.pg_replica import primary_and_replica

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-directory/replica.db",
    "postgres": "postgresql://nobody@127.0.0.1:1/none",
}


@pytest.fixture
def read_url(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second migrated database, empty, in this test's storage mode."""
    if mode == "sqlite":
        path = tmp_path / "replica.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    upgrade(url)
    return url


async def _account_with_clicks(client: Any, app: Any, email: str, *, clicks: int) -> None:
    headers = await make_user(client, email=email)
    # First account and first link in both databases: the same ids, as on a replica.
    await make_link(client, headers, alias="routed")
    for _ in range(clicks):
        await visit(client, "routed")
    await wait_written(app, clicks)


async def test_stats_and_exports_read_the_read_database(
    make_settings: Any, read_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings: Settings = make_settings()
    email = new_email()
    # The read database written as if it were a primary (Redis keys apart, so its clicks are
    # not flushed into the real primary).
    stand_in = make_settings(database_url=read_url, redis_prefix=settings.redis_prefix + "r:")
    async with running(stand_in) as (app, client):
        await _account_with_clicks(client, app, email, clicks=3)
        headers = {"Authorization": f"Bearer {await token_for(client, email)}"}
        await make_link(client, headers, alias="only-on-replica")
    async with running(settings) as (app, client):
        await _account_with_clicks(client, app, email, clicks=1)

    read_settings: Settings = make_settings(database_read_url=read_url)
    async with running(read_settings) as (app, client):
        assert app.runtime.read_engine is not app.runtime.engine
        headers = {"Authorization": f"Bearer {await token_for(client, email)}"}  # primary
        stats = await client.get("/api/links/routed/stats", headers=headers)
        assert stats.status_code == 200, stats.text
        assert stats.json()["total_clicks"] == 3  # the primary has 1
        account = (await client.get("/api/stats", headers=headers)).json()
        assert (account["links"], account["total_clicks"]) == (2, 3), account
        kutt = await client.get("/api/v2/links/routed/stats", headers=headers)
        assert kutt.status_code == 200, kutt.text
        assert sum(kutt.json()["allTime"]["views"]) == 3
        shlink_key = await api_key(client, bearer=headers)  # the key: on the primary
        visits = await client.get("/rest/v3/short-urls/routed/visits", headers=shlink_key)
        assert visits.status_code == 200, visits.text
        assert visits.json()["visits"]["pagination"]["totalItems"] == 3
        export = await client.get("/api/links/export", headers=headers)
        keys = [row["key"] for row in csv.DictReader(io.StringIO(export.text))]
        assert keys == ["routed", "only-on-replica"]

        # Writes, and reads of what was just written, stay on the primary.
        await make_link(client, headers, alias="new-on-primary")
        assert (await client.get("/api/links/new-on-primary", headers=headers)).status_code == 200
        assert (await client.get("/new-on-primary")).status_code == 302

    # `shortener export` reads DATABASE_READ_URL too.
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATABASE_READ_URL", read_url)
    monkeypatch.setenv("SECRET_KEY", settings.signing_key)
    target = tmp_path / "export-read.csv"
    # (on a thread: the CLI runs an event loop of its own)
    assert await asyncio.to_thread(main, ["export", str(target), "--user", email]) == 0
    rows = list(csv.DictReader(target.open(newline="")))
    assert [row["key"] for row in rows] == ["routed", "only-on-replica"]


async def test_read_database_away_is_a_503_that_names_it(make_settings: Any, mode: str) -> None:
    settings: Settings = make_settings(
        database_read_url=UNREACHABLE[mode], metrics_token=METRICS_TOKEN
    )
    async with running(settings) as (_app, client):
        headers = await make_user(client)
        await make_link(client, headers, alias="still-works")
        assert (await client.get("/still-works")).status_code == 302
        for path in ("/api/links/still-works/stats", "/api/stats", "/api/links/export"):
            response = await client.get(path, headers=headers)
            assert response.status_code == 503, (path, response.text)
            assert "DATABASE_READ_URL" in response.json()["detail"], path
            assert response.headers["retry-after"] == "5"
        shlink = await client.get("/rest/v3/visits", headers=await api_key(client, bearer=headers))
        assert shlink.status_code == 503, shlink.text
        assert "DATABASE_READ_URL" in shlink.json()["detail"]
        admin = await make_user(client, admin=True)  # every domain's visits to unknown links
        orphans = await client.get("/api/visits/orphan", headers=admin)
        assert orphans.status_code == 503, orphans.text
        assert "DATABASE_READ_URL" in orphans.json()["detail"]
        # Reported, but the host stays ready: redirects and link management need no replica.
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["database"] == "ok"
        assert ready.json()["read_database"].startswith("unavailable: ")
        metrics = await scrape(client)
        assert metrics.value("shortener_database_errors_total", source="read") >= 1
        assert metrics.value("shortener_database_errors_total", source="app") == 0


async def test_without_read_url_the_primary_serves_everything(app: Any, client: Any) -> None:
    runtime = app.runtime
    assert runtime.read_engine is runtime.engine  # no second pool
    assert runtime.read_sessionmaker is runtime.sessionmaker
    ready = (await client.get("/readyz")).json()
    assert "read_database" not in ready
    headers = await make_user(client)
    await make_link(client, headers, alias="plain")
    assert (await client.get("/api/links/plain/stats", headers=headers)).status_code == 200


@pytest.mark.parametrize("mode", ["postgres"])  # streaming replication is PostgreSQL's
async def test_a_streaming_replica_serves_statistics(make_settings: Any, mode: str) -> None:
    with primary_and_replica("shortener") as (primary, replica):
        await asyncio.to_thread(upgrade, primary.url("shortener"))  # it runs a loop of its own
        settings: Settings = make_settings(
            database_url=primary.url("shortener"), database_read_url=replica.url("shortener")
        )
        async with running(settings) as (app, client):
            headers = await make_user(client)
            await make_link(client, headers, alias="streamed")  # on the primary

            async def stats_show(clicks: int) -> bool:
                r = await client.get("/api/links/streamed/stats", headers=headers)
                return r.status_code == 200 and r.json()["total_clicks"] == clicks

            for _ in range(2):
                await visit(client, "streamed")
            await wait_written(app, 2)
            await eventually(lambda: stats_show(2))  # replicated: the lag, bounded

            # Replay paused, the primary moves on and the statistics stay where the replica is.
            replica.psql("SELECT pg_wal_replay_pause()")
            for _ in range(3):
                await visit(client, "streamed")
            await wait_written(app, 5)  # on the primary
            assert await stats_show(2)
            replica.psql("SELECT pg_wal_replay_resume()")
            await eventually(lambda: stats_show(5))

            ready = (await client.get("/readyz")).json()
            assert ready["read_database"] == "ok"
            lines: list[str] = []
            assert await asyncio.to_thread(lambda: report(run_checks(settings), lines.append)) == 0
            assert any("read database (DATABASE_READ_URL) answers" in line for line in lines)

            replica.stop()
            gone = await client.get("/api/links/streamed/stats", headers=headers)
            assert gone.status_code == 503, gone.text
            assert "DATABASE_READ_URL" in gone.json()["detail"]
            assert (await client.get("/streamed")).status_code == 302
