"""LinkCache across workers: a change made through one app reaches another app's redirects."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import col

from shortener.config import Settings
from shortener.models import Link
from shortener.redirect.known_keys import KEYS_POLL_SECONDS
from shortener.redirect.lookup import LinkReader, SqliteReader, read_links
from tests.conftest import LIVE_TIMEOUT
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
        await slow_reader._to_redis({key: stale})
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
    writer = sqlite3.connect(
        make_url(settings.database_url).database or "",
        timeout=LIVE_TIMEOUT,
        isolation_level=None,
        check_same_thread=False,
    )
    # Taken on a thread: the app's background tasks run on this test's event loop, and one of
    # them may be inside a short write transaction right now. Waiting for it on the loop
    # itself would keep it from ever committing (the loop blocked until the 30 s timeout,
    # then "database is locked": a CI run met it once).
    await asyncio.to_thread(writer.execute, "BEGIN IMMEDIATE")  # as a batch being written
    try:
        async with asyncio.timeout(15):  # busy_timeout is 30 s: waiting would fail here
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


async def _filter_ready(cache) -> None:  # type: ignore[no-untyped-def]
    async def ready() -> bool:
        return cache.keys.current is not None

    await eventually(ready)


async def test_unknown_keys_are_answered_without_a_look_up(client, app) -> None:  # type: ignore[no-untyped-def]
    cache = app.runtime.link_cache
    await _filter_ready(cache)
    reads = cache.reads
    for key in ("never-made", "scanner-1", "scanner-2"):
        assert (await client.get(f"/{key}")).status_code == 404
    assert cache.reads == reads and cache.hits["filter"] >= 3


async def test_a_false_positive_only_costs_a_look_up(client, app) -> None:  # type: ignore[no-untyped-def]
    cache = app.runtime.link_cache
    await _filter_ready(cache)
    cache.keys.current.add("ghost")  # as if its bits were set by other keys
    reads = cache.reads
    response = await client.get("/ghost")
    assert response.status_code == 404 and response.json() == {"detail": "link not found"}
    assert cache.reads == reads + 1


async def test_a_key_made_on_this_worker_redirects_at_once(client, app) -> None:  # type: ignore[no-untyped-def]
    await _filter_ready(app.runtime.link_cache)
    headers = await make_user(client)
    assert (await client.get("/just-made")).status_code == 404
    await make_link(client, headers, alias="just-made")
    assert (await client.get("/just-made")).status_code == 302


async def test_a_link_written_without_the_hook_is_known_within_the_poll(client, app) -> None:  # type: ignore[no-untyped-def]
    """A bulk import or a script writing rows directly: the filter reads new keys by itself."""
    cache = app.runtime.link_cache
    await _filter_ready(cache)
    headers = await make_user(client)
    await make_link(client, headers, alias="template")
    assert (await client.get("/behind-the-back")).status_code == 404
    async with app.runtime.sessionmaker() as session, session.begin():
        template = (
            await session.execute(select(Link).where(col(Link.key) == "template"))
        ).scalar_one()
        session.add(
            Link(
                key="behind-the-back",
                url=template.url,
                url_md5=template.url_md5,
                key_strategy="alias",
                owner_id=template.owner_id,
                workspace_id=template.workspace_id,
            )
        )

    async def known() -> bool:
        return (await client.get("/behind-the-back")).status_code == 302

    await eventually(known, timeout=KEYS_POLL_SECONDS + 5, interval=0.1)


async def test_concurrent_misses_of_many_keys_are_read_together(client, app, mode) -> None:  # type: ignore[no-untyped-def]
    """With Redis (and on PostgreSQL) misses of the same moment share one MGET and one query;
    on a SQLite file without Redis each is a point read done at once, cheaper than a batch."""
    headers = await make_user(client)
    keys = [f"batch-{i}" for i in range(20)]
    for key in keys:
        await make_link(client, headers, alias=key)
    cache = app.runtime.link_cache
    for key in keys:
        cache.evict_local(key)
    reads = cache.reads
    links = await asyncio.gather(*(cache.get(key) for key in keys))
    assert [link.key for link in links] == keys
    assert cache.reads == reads + (1 if mode == "postgres" else len(keys))


async def test_the_link_cache_is_bounded_by_bytes(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(link_cache_max_bytes=5_000)
    async with running(settings) as (app, client):
        headers = await make_user(client)
        for i in range(10):
            await make_link(client, headers, alias=f"sized-{i}", url=f"https://example.com/{i}")
            assert (await client.get(f"/sized-{i}")).status_code == 302
        cache = app.runtime.link_cache
        assert 0 < cache.bytes <= 5_000
        assert len(cache._lru) <= 5


async def test_the_link_cache_drops_the_least_recently_used(make_settings) -> None:  # type: ignore[no-untyped-def]
    """A link served from the cache is kept over ones read before it and not asked for since
    (under Zipf-like traffic the most asked-for links stay; first-in-first-out dropped them)."""
    async with running(make_settings(link_cache_size=3)) as (app, client):
        headers = await make_user(client)
        for key in ("used-a", "used-b", "used-c", "used-d"):
            await make_link(client, headers, alias=key)
        for key in ("used-a", "used-b", "used-c", "used-a", "used-d"):
            assert (await client.get(f"/{key}")).status_code == 302
        assert list(app.runtime.link_cache._lru) == ["used-c", "used-a", "used-d"]


async def test_the_direct_read_matches_the_engines(client, app) -> None:  # type: ignore[no-untyped-def]
    """SqliteReader and PgReader convert the driver's values themselves: they must give what
    SQLAlchemy gives, for a link with every option set."""
    headers = await make_user(client)
    await make_link(
        client,
        headers,
        alias="full",
        url="https://example.com/full",
        expires_at="2999-01-02T03:04:05.123456+00:00",
        max_clicks=7,
        password="a secret",
        redirect_type=301,
        rules=[{"device": "ios", "url": "https://ios.example/"}],
        variants=[{"url": "https://a.example/", "weight": 2}, {"url": "https://b.example/"}],
        forward_query=True,
        fallback_url="https://example.com/over",
        og_title="Title",
    )
    await make_link(client, headers, alias="bare")
    reader = LinkReader(app.runtime.engine)
    direct = reader._direct
    assert direct is not None
    keys = ["full", "bare", "absent"]
    try:
        mine = direct.read(keys) if isinstance(direct, SqliteReader) else await direct.read(keys)
    finally:
        await reader.aclose()
    engines = await read_links(app.runtime.engine, keys)
    assert mine == engines and set(mine) == {"full", "bare"}
    assert mine["full"].expires_at == engines["full"].expires_at is not None
    assert mine["full"].parsed_variants == engines["full"].parsed_variants
    assert mine["full"].parsed_rules == engines["full"].parsed_rules


@pytest.mark.parametrize("mode", ["postgres"])  # the channel between workers is Redis's
async def test_a_change_returns_only_once_every_worker_has_it(app, settings) -> None:  # type: ignore[no-untyped-def]
    """Another worker, played by a bare subscriber: until it acknowledges, the change (and
    so the API call that made it) has not returned."""
    cache = app.runtime.link_cache
    channel = f"{settings.redis_prefix}link-invalidate"
    redis = Redis.from_url(settings.redis_url)

    async def subscribed(count: int) -> bool:
        ((_, listeners),) = await redis.pubsub_numsub(channel)
        return int(listeners) == count

    other = redis.pubsub(ignore_subscribe_messages=True)
    try:
        await eventually(lambda: subscribed(1))  # this worker's listener
        await other.subscribe(channel)
        change = asyncio.ensure_future(cache.invalidate("slow-to-hear"))
        message = None
        while message is None:
            message = await other.get_message(timeout=LIVE_TIMEOUT)
        ack, key = message["data"].decode().split(" ")
        assert key == "slow-to-hear"
        done, _ = await asyncio.wait({change}, timeout=0.3)
        assert not done, "returned before every worker had the change"
        await redis.publish(f"{settings.redis_prefix}link-ack", ack)
        await asyncio.wait_for(change, timeout=LIVE_TIMEOUT)
    finally:
        await other.aclose()
        await redis.aclose()
