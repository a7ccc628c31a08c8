"""The Redis click stream packs clicks into entries; counting and reading stay per click."""

from __future__ import annotations

import os
import uuid

import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from shortener.clicks.events import ClickRecord, OrphanRecord
from shortener.clicks.queue import CLICKS_PER_ENTRY, RedisStreamQueue
from tests.processes import TcpProxy

REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set (CI sets it)")


@pytest.fixture
async def queue():  # type: ignore[no-untyped-def]
    redis = Redis.from_url(REDIS_URL or "")
    prefix = f"shortener-test:queue:{uuid.uuid4().hex[:8]}:"
    yield RedisStreamQueue(redis, prefix=prefix)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_packed_clicks_come_back_one_by_one_and_are_counted(queue) -> None:  # type: ignore[no-untyped-def]
    clicks = [ClickRecord(link_id=i % 3 + 1, ts=1_700_000_000.0 + i) for i in range(250)]
    await queue.put_many(clicks)
    # 250 clicks: three entries, but pending counts clicks.
    assert await queue._redis.xlen(queue.stream) == -(-250 // CLICKS_PER_ENTRY)
    assert await queue.pending() == 250

    batch = await queue.take(120)
    # Whole entries are read: the limit may be passed by part of one, never by a whole one.
    assert 120 <= len(batch) < 120 + CLICKS_PER_ENTRY
    await queue.ack(batch)
    assert await queue.pending() == 250 - len(batch)

    rest = await queue.take(1000)
    await queue.ack(rest)
    assert [c.id for c in batch.clicks + rest.clicks] == [c.id for c in clicks]
    assert await queue.pending() == 0


async def test_entries_of_one_click_are_still_read(queue) -> None:  # type: ignore[no-untyped-def]
    # Written before clicks were packed (a stream left over from an upgrade).
    old = ClickRecord(link_id=7, ts=1_700_000_000.0)
    await queue._ensure_group()
    await queue._redis.xadd(queue.stream, {"c": old.to_json()})
    batch = await queue.take(10)
    assert [c.id for c in batch.clicks] == [old.id]
    await queue.ack(batch)
    assert await queue.pending() == 0


async def test_a_quiet_stream_of_one_click_entries_fills_a_batch(queue) -> None:  # type: ignore[no-untyped-def]
    # Redirects one at a time: the pump ships each click alone, an entry each.
    clicks = [ClickRecord(link_id=1, ts=1_700_000_000.0 + i) for i in range(300)]
    for click in clicks:
        await queue.put_many([click])
    batch = await queue.take(250)
    assert len(batch) == 250  # not 250 / CLICKS_PER_ENTRY entries' worth
    await queue.ack(batch)
    rest = await queue.take(250)
    assert len(rest) == 50
    await queue.ack(rest)
    assert await queue.pending() == 0


async def test_entries_handed_over_as_the_connection_broke_are_read_again() -> None:
    """Redis may deliver entries to this consumer and the answer never arrive: they are then
    pending for it, and must not wait for another consumer to claim them as idle."""
    url = make_url(REDIS_URL or "")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 6379)
    await proxy.start()
    prefix = f"shortener-test:queue:{uuid.uuid4().hex[:8]}:"
    direct = Redis.from_url(REDIS_URL or "")
    through_proxy = Redis.from_url(f"redis://127.0.0.1:{proxy.port}/{url.database or 0}")
    queue = RedisStreamQueue(through_proxy, prefix=prefix, claim_idle_ms=600_000)
    try:
        assert len(await queue.take(100)) == 0  # the stream is empty; nothing of ours pending
        clicks = [ClickRecord(link_id=1, ts=1_700_000_000.0 + i) for i in range(10)]
        await queue.put_many(clicks)
        # The entries are handed to this consumer, but the answer is lost with the connection.
        await direct.xreadgroup(queue.GROUP, queue._consumer, {queue.stream: ">"})
        await proxy.stop()
        assert len(await queue.take(100)) == 0  # Redis unreachable
        await proxy.start()
        batch = await queue.take(100)
        assert [c.id for c in batch.clicks] == [c.id for c in clicks]
        await queue.ack(batch)
    finally:
        await proxy.stop()
        keys = [key async for key in direct.scan_iter(match=f"{prefix}*")]
        if keys:
            await direct.delete(*keys)
        await direct.aclose()
        await through_proxy.aclose()


async def test_orphan_visits_travel_in_entries_of_their_own(queue) -> None:  # type: ignore[no-untyped-def]
    """A worker of the previous version reads link clicks as ClickRecord(**fields): an entry
    holding a visit to an unknown link would be unreadable to it, and dropped whole."""
    mixed: list[ClickRecord] = [
        ClickRecord(link_id=1, ts=1.0),
        OrphanRecord(link_id=0, ts=2.0, domain="a.example", path="/x"),
        ClickRecord(link_id=2, ts=3.0),
        OrphanRecord(link_id=0, ts=60.0, domain="a.example", dropped=5),
    ]
    await queue.put_many(mixed)
    entries = await queue._redis.xrange(queue.stream)
    assert [sorted(fields) for _, fields in entries] == [[b"b", b"n"], [b"n", b"o"]]
    # What the previous version does with the link clicks' entry: it reads as before.
    _, links = entries[0]
    assert [ClickRecord(**c).link_id for c in orjson.loads(links[b"b"])] == [1, 2]
    batch = await queue.take(10)
    assert sorted(c.id for c in batch.clicks) == sorted(c.id for c in mixed)
    orphans = [c for c in batch.clicks if isinstance(c, OrphanRecord)]
    assert [(c.path, c.dropped) for c in orphans] == [("/x", 0), (None, 5)]
