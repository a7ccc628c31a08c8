"""The broker's mailboxes: bounded, dropping the oldest; closed at shutdown; Redis optional."""

from __future__ import annotations

import time

import orjson
from redis.asyncio import Redis

from shortener.live.broker import QUEUE_SIZE, LiveBroker, sse_frame
from shortener.redisconn import CircuitBreaker
from tests.processes import free_port


def payload(n: int) -> bytes:
    return orjson.dumps({"total_clicks": n, "clicks": 1, "visits": []})


async def test_a_slow_reader_keeps_only_the_newest_events() -> None:
    broker = LiveBroker(None, prefix="t:")
    async with broker.subscription(7) as slow, broker.subscription(7) as quick:
        assert await broker.watched([7, 8]) == {7}
        for n in range(1, 101):
            await broker.publish(7, payload(n))
            if n % 20 == 0:
                assert len(await quick.wait(0)) == 20
        frames = await slow.wait(0)
        assert len(frames) == QUEUE_SIZE
        assert slow.dropped == 100 - QUEUE_SIZE
        assert frames[-1] == sse_frame(payload(100))
        assert frames[0] == sse_frame(payload(100 - QUEUE_SIZE + 1))
        assert await quick.wait(0) == [] and quick.dropped == 0
    assert broker.subscriptions == 0
    assert await broker.watched([7]) == set()


async def test_close_ends_every_stream_and_refuses_new_ones() -> None:
    broker = LiveBroker(None, prefix="t:")
    async with broker.subscription(1) as sub:
        broker.close()
        started = time.monotonic()
        assert await sub.wait(30) == []
        assert sub.closed and time.monotonic() - started < 1
    async with broker.subscription(1) as late:
        assert late.closed


async def test_run_notices_the_server_exiting() -> None:
    exiting = False
    broker = LiveBroker(None, prefix="t:", exiting=lambda: exiting)
    async with broker.subscription(1) as sub:
        exiting = True
        await broker.run()  # returns once it has seen the flag and closed everything
        assert sub.closed


async def test_without_redis_reachable_publishing_costs_nothing_and_raises_nothing() -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    broker = LiveBroker(redis, prefix="t:", breaker=CircuitBreaker(cooldown=60))
    try:
        started = time.monotonic()
        assert await broker.watched([1, 2]) == set()  # fails once, opens the breaker
        for _ in range(100):
            assert await broker.watched([1, 2]) == set()
            await broker.publish(1, payload(1))
        assert time.monotonic() - started < 2
    finally:
        await redis.aclose()
