"""The database goes away and comes back; a batch it will never take; a click delivered twice."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select

from shortener.clicks.events import ClickRecord
from shortener.clicks.queue import RedisStreamQueue
from shortener.main import create_app
from shortener.models import Link
from tests.factories import click_counts, eventually, make_link, make_user
from tests.processes import TcpProxy


async def _link_id(app: object, key: str) -> int:
    async with app.runtime.sessionmaker() as session:  # type: ignore[attr-defined]
        return int((await session.execute(select(Link.id).where(Link.key == key))).scalar_one())


@pytest.mark.parametrize("mode", ["postgres"])
async def test_flusher_retries_while_the_database_is_unreachable(
    make_settings, pg_proxy: TcpProxy
) -> None:
    settings = make_settings(database_url=pg_proxy.url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="outage")
            assert (await client.get("/outage")).status_code == 302  # now cached

            await pg_proxy.stop()
            flusher = app.runtime.flusher
            for _ in range(25):
                assert (await client.get("/outage")).status_code == 302
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"].startswith("unavailable")

            async def retried() -> bool:
                return flusher._failures >= 3

            await eventually(retried)  # and it keeps trying, backing off
            assert flusher.set_aside == []  # a lost connection is never a poison batch

            await pg_proxy.start()

            async def all_counted() -> bool:
                return await click_counts(app, "outage") == (26, 26)

            await eventually(all_counted, timeout=40)
            assert await app.runtime.click_queue.pending() == 0
            assert (await client.get("/readyz")).status_code == 200


async def test_a_poison_batch_is_set_aside_and_the_queue_flows_again(client, app) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="poison")
    link_id = await _link_id(app, "poison")
    queue = app.runtime.click_queue
    good = [ClickRecord(link_id=link_id, ts=time.time()) for _ in range(5)]
    # A timestamp no database takes (NaN travels through Redis as null): never writable.
    bad = ClickRecord(link_id=link_id, ts=float("nan"))
    for click in [*good[:2], bad, *good[2:]]:
        await queue.put(click)

    async def flowed() -> bool:
        return await click_counts(app, "poison") == (5, 5)

    await eventually(flowed)
    assert [c.id for c in app.runtime.flusher.set_aside] == [bad.id]
    assert await queue.pending() == 0
    # Later clicks are not held up any more.
    assert (await client.get("/poison")).status_code == 302

    async def next_one() -> bool:
        return await click_counts(app, "poison") == (6, 6)

    await eventually(next_one)


@pytest.mark.parametrize("mode", ["postgres"])
async def test_unreadable_stream_entries_are_dropped_not_retried_forever(client, app) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="garbage")
    link_id = await _link_id(app, "garbage")
    queue = app.runtime.click_queue
    await app.runtime.redis.xadd(queue.stream, {"c": b"{not json"})
    await app.runtime.redis.xadd(queue.stream, {"other": b"field"})
    await queue.put(ClickRecord(link_id=link_id, ts=time.time()))

    async def counted() -> bool:
        return await click_counts(app, "garbage") == (1, 1) and await queue.pending() == 0

    await eventually(counted)


async def test_the_same_click_delivered_twice_counts_once(client, app) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="twice")
    link_id = await _link_id(app, "twice")
    click = ClickRecord(link_id=link_id, ts=time.time())
    queue = app.runtime.click_queue
    await queue.put(click)
    await queue.put(ClickRecord.from_json(click.to_json()))  # a redelivery: same id

    async def written() -> bool:
        return await queue.pending() == 0 and (await click_counts(app, "twice"))[1] == 1

    await eventually(written)
    # And once more, in a later batch, after the first was committed.
    await queue.put(ClickRecord.from_json(click.to_json()))
    await eventually(lambda: _empty(queue))
    assert await click_counts(app, "twice") == (1, 1)


async def _empty(queue: object) -> bool:
    return await queue.pending() == 0  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("mode", ["postgres"])
async def test_entries_of_a_dead_consumer_are_claimed_and_counted_once(make_settings) -> None:
    settings = make_settings(click_claim_idle_ms=300)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="orphan")
            link_id = await _link_id(app, "orphan")
            # Another worker reads five clicks and dies before writing them. The XADDs and its
            # XREADGROUP run as one transaction, so our own flusher cannot read them first.
            dead = RedisStreamQueue(app.runtime.redis, prefix=settings.redis_prefix)
            await dead._ensure_group()
            clicks = [ClickRecord(link_id=link_id, ts=time.time()) for _ in range(5)]
            async with app.runtime.redis.pipeline(transaction=True) as pipe:
                for click in clicks:
                    pipe.xadd(dead.stream, {"c": click.to_json()})
                pipe.xreadgroup(dead.GROUP, "dead-worker", {dead.stream: ">"}, count=100)
                *_, read = await pipe.execute()
            assert len(read[0][1]) == 5
            assert (await app.runtime.redis.xpending(dead.stream, "flushers"))["pending"] == 5

            async def claimed() -> bool:
                pending = await app.runtime.redis.xpending(dead.stream, "flushers")
                return int(pending["pending"]) == 0 and await click_counts(app, "orphan") == (5, 5)

            await eventually(claimed)
