"""LinkCache across workers: a change made through one app reaches another app's redirects."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from shortener.config import Settings
from tests.factories import eventually, make_link, make_user, running


def _worker_settings(make_settings, mode: str) -> Settings:
    # With Redis, pub/sub must do it: a TTL of 300 s cannot be what makes the change visible.
    # Without Redis there is no channel between workers, so `shortener serve --workers N`
    # turns the in-process cache off (LINK_CACHE_TTL=0); test that configuration.
    return make_settings(link_cache_ttl=300 if mode == "postgres" else 0)


async def test_a_patch_reaches_the_other_workers_cache_at_once(make_settings, mode) -> None:
    settings = _worker_settings(make_settings, mode)
    async with running(settings) as (_, one), running(settings) as (two_app, two):
        headers = await make_user(one)
        link = await make_link(one, headers, url="https://example.com/before")
        key = link["key"]
        for _ in range(2):  # warm worker two's LRU (and Redis)
            assert (await two.get(f"/{key}")).headers["location"] == "https://example.com/before"
        if mode == "postgres":
            assert two_app.runtime.link_cache.hits["local"] >= 1

        patched = await one.patch(
            f"/api/links/{key}", json={"url": "https://example.com/after"}, headers=headers
        )
        assert patched.status_code == 200

        async def two_follows() -> bool:
            r = await two.get(f"/{key}")
            return r.headers.get("location") == "https://example.com/after"

        await eventually(two_follows, timeout=1.0, interval=0.01)


async def test_a_delete_reaches_the_other_workers_cache_at_once(make_settings, mode) -> None:
    settings = _worker_settings(make_settings, mode)
    async with running(settings) as (_, one), running(settings) as (_, two):
        headers = await make_user(one)
        link = await make_link(one, headers)
        assert (await two.get(f"/{link['key']}")).status_code == 302
        assert (await one.delete(f"/api/links/{link['key']}", headers=headers)).status_code == 204

        async def gone() -> bool:
            return (await two.get(f"/{link['key']}")).status_code == 404

        await eventually(gone, timeout=1.0, interval=0.01)


async def test_a_new_key_reaches_the_other_workers_negative_cache(make_settings, mode) -> None:
    settings = _worker_settings(make_settings, mode)
    async with running(settings) as (_, one), running(settings) as (_, two):
        headers = await make_user(one)
        assert (await two.get("/fresh-key")).status_code == 404  # remembered as unknown
        await make_link(one, headers, alias="fresh-key")

        async def found() -> bool:
            return (await two.get("/fresh-key")).status_code == 302

        await eventually(found, timeout=1.0, interval=0.01)


# Redis only: the race is between workers writing to Redis.
@pytest.mark.parametrize("mode", ["postgres"])
async def test_a_read_that_raced_a_change_does_not_bring_the_old_link_back(
    make_settings, mode
) -> None:
    """A worker reads the database just before a change commits and stores what it read in
    Redis just after the change invalidated it. Driven step by step through the cache's own
    pieces (the interleaving cannot be forced through HTTP without a sleep)."""
    settings = make_settings(link_cache_ttl=300)
    async with running(settings) as (_, one), running(settings) as (two_app, _):
        headers = await make_user(one)
        link = await make_link(one, headers, url="https://example.com/before")
        key = link["key"]
        slow_reader = two_app.runtime.link_cache
        stale = await slow_reader._from_database(key)
        patched = await one.patch(
            f"/api/links/{key}", json={"url": "https://example.com/after"}, headers=headers
        )
        assert patched.status_code == 200
        await slow_reader._to_redis(key, stale)
        # A third worker (fresh LRU, so it asks Redis) must see the change.
        async with running(settings) as (_, three):
            response = await three.get(f"/{key}")
        assert response.headers["location"] == "https://example.com/after"


@pytest.mark.parametrize("mode", ["sqlite"])
async def test_a_look_up_does_not_wait_for_a_writer_on_sqlite(client, app, settings) -> None:  # type: ignore[no-untyped-def]
    """Writers take SQLite's lock up front (BEGIN IMMEDIATE); a link look-up only reads and
    must not queue behind them, e.g. behind the click writer's batch."""
    headers = await make_user(client)
    await make_link(client, headers, alias="unlocked")
    writer = sqlite3.connect(make_url(settings.database_url).database or "", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # holds the write lock, as a batch being written does
    try:
        async with asyncio.timeout(5):  # busy_timeout is 30 s: waiting would fail here
            response = await client.get("/unlocked")
        assert response.status_code == 302
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_concurrent_misses_of_one_key_read_the_database_once(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="herd")
    cache = app.runtime.link_cache
    cache.evict_local("herd")
    before = cache.hits["database"] + cache.hits["redis"]
    links = await asyncio.gather(*(cache.get("herd") for _ in range(20)))
    assert {link.key for link in links} == {"herd"}
    # One look-up for twenty requests (Redis or the database, whichever knew it).
    assert cache.hits["database"] + cache.hits["redis"] == before + 1
