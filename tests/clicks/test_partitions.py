"""Issue 19, item 4: on PostgreSQL raw clicks are partitioned by month; retention drops whole
months and deletes rows only in the month that straddles the cutoff. SQLite keeps one table
and the same retention results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from shortener import cli
from shortener.clicks import partitions
from shortener.clicks.events import ClickRecord
from shortener.clicks.retention import cleanup
from shortener.clicks.writer import write_clicks
from shortener.doctor import check_database
from tests.factories import make_link, make_user

# Months far from now, so the partitions the app makes for this month and the next ones never
# meet these tests' clicks.
JAN_2030 = datetime(2030, 1, 1, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.fixture
async def links(client, app) -> AsyncIterator[tuple[dict[str, str], int]]:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="parted")
    async with app.runtime.sessionmaker() as session:
        found = await session.execute(text("SELECT id FROM links WHERE key = 'parted'"))
        link_id = int(found.scalar_one())
    yield headers, link_id
    await _drop_far_partitions(app)


async def _drop_far_partitions(app) -> None:  # type: ignore[no-untyped-def]
    """The session's database outlives this test: its far-off months go with it."""
    async with app.runtime.sessionmaker() as session, session.begin():
        conn = await session.connection()
        if conn.dialect.name != "postgresql":
            return
        for month in await conn.run_sync(partitions.months):
            if month.year >= 2030:
                await conn.execute(text(f"DROP TABLE {month.name}"))


async def _write(app, link_id: int, *moments: datetime) -> list[str]:  # type: ignore[no-untyped-def]
    clicks = [ClickRecord(link_id=link_id, ts=at.timestamp(), user_agent=BROWSER) for at in moments]
    async with app.runtime.sessionmaker() as session, session.begin():
        await write_clicks(session, clicks)
    return [c.id for c in clicks]


async def _where(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(click id, the table that holds it): the partition on PostgreSQL, clicks on SQLite."""
    async with app.runtime.sessionmaker() as session:
        conn = await session.connection()
        holder = "tableoid::regclass::text" if conn.dialect.name == "postgresql" else "'clicks'"
        rows = await session.execute(text(f"SELECT id, {holder} FROM clicks ORDER BY clicked_at"))
        return [(a, b) for a, b in rows.tuples()]


async def _total(client, headers) -> int:  # type: ignore[no-untyped-def]
    params = {"from": "2029-12-01", "to": "2030-06-30"}
    response = await client.get("/api/links/parted/stats", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total_clicks"])


@pytest.mark.parametrize("mode", ["postgres"])
async def test_months_are_created_ahead_once(app, links) -> None:  # type: ignore[no-untyped-def]
    made = await partitions.ensure(app.runtime.sessionmaker, ahead=2, now=JAN_2030)
    assert made.created == ["clicks_2030_01", "clicks_2030_02", "clicks_2030_03"]
    again = await partitions.ensure(app.runtime.sessionmaker, ahead=2, now=JAN_2030)
    assert again.created == [] and again.moved == 0
    # And the app's flusher made this month and the next three when it started.
    async with app.runtime.sessionmaker() as session:
        conn = await session.connection()
        present = set(await conn.run_sync(partitions.months))
    this = partitions.Month.of(datetime.now(UTC))
    assert {this.plus(i) for i in range(partitions.AHEAD_MONTHS + 1)} <= present


@pytest.mark.parametrize("mode", ["postgres"])
async def test_a_month_without_partition_lands_in_the_default_then_moves(
    app, links, settings
) -> None:  # type: ignore[no-untyped-def]
    _, link_id = links
    early, late = datetime(2031, 7, 3, tzinfo=UTC), datetime(2031, 7, 30, tzinfo=UTC)
    ids = await _write(app, link_id, early, late)
    assert await _where(app) == [(ids[0], partitions.DEFAULT), (ids[1], partitions.DEFAULT)]
    assert await partitions.in_default(app.runtime.sessionmaker) == 2
    doctor = await check_database(settings)
    assert any(f.level == "warn" and partitions.DEFAULT in f.what for f in doctor), doctor

    # Creating the months ahead also creates July 2031 and moves its clicks there.
    made = await partitions.ensure(app.runtime.sessionmaker, ahead=0, now=JAN_2030)
    assert made.created == ["clicks_2030_01", "clicks_2031_07"] and made.moved == 2
    assert await _where(app) == [(ids[0], "clicks_2031_07"), (ids[1], "clicks_2031_07")]
    assert await partitions.in_default(app.runtime.sessionmaker) == 0
    # A redelivered click meets its original in its partition: written once.
    async with app.runtime.sessionmaker() as session, session.begin():
        again = ClickRecord(link_id=link_id, ts=early.timestamp(), user_agent=BROWSER, id=ids[0])
        assert await write_clicks(session, [again]) == 0


@pytest.mark.parametrize("mode", ["postgres"])
async def test_the_partitions_command(app, links, cli_env, capsys) -> None:  # type: ignore[no-untyped-def]
    _, link_id = links
    await _write(app, link_id, datetime(2032, 2, 2, tzinfo=UTC))
    assert await asyncio.to_thread(cli.main, ["partitions", "--ahead", "1"]) == 0
    out = capsys.readouterr().out
    assert "clicks_2032_02" in out and "moved 1 click(s)" in out
    assert await _where(app) == [(await _only_id(app), "clicks_2032_02")]


async def _only_id(app) -> str:  # type: ignore[no-untyped-def]
    async with app.runtime.sessionmaker() as session:
        return str((await session.execute(text("SELECT id FROM clicks"))).scalar_one())


async def test_retention_drops_whole_months_and_deletes_only_the_straddling_rows(
    app, client, links, mode
) -> None:  # type: ignore[no-untyped-def]
    headers, link_id = links
    await partitions.ensure(app.runtime.sessionmaker, ahead=2, now=JAN_2030)
    moments = [
        datetime(2030, 1, 5, tzinfo=UTC),
        datetime(2030, 1, 20, tzinfo=UTC),
        datetime(2030, 1, 31, 23, 59, tzinfo=UTC),
        datetime(2030, 2, 3, tzinfo=UTC),  # before the cutoff, in the straddling month
        datetime(2030, 2, 20, tzinfo=UTC),
        datetime(2030, 3, 9, tzinfo=UTC),
    ]
    ids = await _write(app, link_id, *moments)
    assert await _total(client, headers) == 6
    cutoff = datetime(2030, 2, 10, tzinfo=UTC)
    cleaned = await cleanup(
        app.runtime.sessionmaker, retention_days=30, now=cutoff + timedelta(days=30)
    )
    assert cleaned.clicks == 4
    kept = await _where(app)
    if mode == "postgres":
        assert kept == [(ids[4], "clicks_2030_02"), (ids[5], "clicks_2030_03")]
        async with app.runtime.sessionmaker() as session:
            conn = await session.connection()
            left = {m.name for m in await conn.run_sync(partitions.months)}
        assert "clicks_2030_01" not in left and "clicks_2030_02" in left  # dropped whole
    else:
        assert kept == [(ids[4], "clicks"), (ids[5], "clicks")]
    # The rollups keep every click counted: the statistics do not change.
    assert await _total(client, headers) == 6
