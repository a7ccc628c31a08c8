"""Redis dies, hangs and comes back in the middle of traffic: redirects keep answering,
/readyz tells the truth, and every answered redirect is counted exactly once."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from shortener.main import create_app
from tests.factories import click_counts, eventually, make_link, make_user
from tests.processes import RedisServer

# These tests bring their own redis-server; the database is the run's PostgreSQL.
pytestmark = pytest.mark.parametrize("mode", ["postgres"])


async def _settled(app: object, redis_url: str, prefix: str) -> bool:
    """Nothing left anywhere between the redirect and the database."""
    state = app.runtime  # type: ignore[attr-defined]
    if await state.click_queue.pending():
        return False
    redis = Redis.from_url(redis_url)
    try:
        summary = await redis.xpending(f"{prefix}clicks", "flushers")
        return int(summary["pending"]) == 0
    finally:
        await redis.aclose()


class Traffic:
    """Redirects in a loop, as visitors would, counting the ones answered with a redirect."""

    def __init__(self, client: object, key: str) -> None:
        self.client = client
        self.key = key
        self.answered = 0
        self.other: list[int] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            response = await self.client.get(f"/{self.key}")  # type: ignore[attr-defined]
            if response.status_code == 302:
                self.answered += 1
            else:
                self.other.append(response.status_code)
            await asyncio.sleep(0.005)

    async def until(self, total: int) -> None:
        async def enough() -> bool:
            return self.answered >= total

        await eventually(enough)

    def stop(self) -> None:
        self._stop.set()


async def test_redis_killed_mid_traffic_redirects_answer_and_clicks_count_once(
    make_settings, durable_redis_server: RedisServer
) -> None:
    """kill -9 of Redis while redirects flow. Entries already in the stream survive in its
    append-only file (a Redis without persistence loses them: run it with appendonly yes);
    clicks that found Redis down wait in the local buffer and go straight to the database."""
    import httpx

    redis_server = durable_redis_server
    settings = make_settings(redis_url=redis_server.url, redis_breaker_seconds=0.2)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="busy")
            traffic = Traffic(client, "busy")
            runner = asyncio.create_task(traffic.run())
            try:
                await traffic.until(20)
                redis_server.kill()
                before = traffic.answered
                await traffic.until(before + 30)  # redirects keep answering
                ready = await client.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["redis"] == "unavailable"
                assert ready.json()["database"] == "ok"
                # Clicks of the outage reach the database through the local buffer.
                await eventually(lambda: _counted_at_least(app, "busy", before + 30))

                redis_server.start()

                async def ready_again() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                await eventually(ready_again)
                await traffic.until(traffic.answered + 30)
            finally:
                traffic.stop()
                await runner
            assert traffic.other == []

            async def settled() -> bool:
                return await _settled(app, redis_server.url, settings.redis_prefix)

            await eventually(lambda: _counted(app, "busy", traffic.answered))
            await eventually(settled)
            assert await click_counts(app, "busy") == (traffic.answered, traffic.answered)
            # Clicks went through Redis again once it was back.
            redis = Redis.from_url(redis_server.url)
            try:
                info = await redis.xinfo_stream(f"{settings.redis_prefix}clicks")
                assert int(info["entries-added"]) > 0
            finally:
                await redis.aclose()


async def _true(value: bool) -> bool:
    return value


async def _counted(app: object, key: str, expected: int) -> bool:
    counter, rows = await click_counts(app, key)
    assert counter <= expected and rows <= expected, (counter, rows, expected)
    return counter == rows == expected


async def _counted_at_least(app: object, key: str, expected: int) -> bool:
    counter, rows = await click_counts(app, key)
    return counter == rows and counter >= expected


async def test_hung_redis_trips_the_breaker_and_nothing_is_counted_twice(
    make_settings, redis_server: RedisServer
) -> None:
    """A paused Redis (SIGSTOP) accepts connections but never answers. The first caller (the
    click pump, since redirects no longer talk to Redis themselves) waits for the socket
    timeout and opens the breaker; the commands it sent are executed when Redis resumes, so
    the same clicks arrive twice (buffer and stream) and must count once."""
    import httpx

    settings = make_settings(
        redis_url=redis_server.url,
        redis_breaker_seconds=0.3,
        redis_socket_timeout=0.3,
        redis_connect_timeout=0.3,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="hung")
            assert (await client.get("/hung")).status_code == 302
            await eventually(lambda: _counted(app, "hung", 1))

            breaker = app.runtime.redis_breaker
            redis_server.pause()
            try:
                answered = 1
                for _ in range(20):
                    assert (await client.get("/hung")).status_code == 302
                    answered += 1
                await eventually(lambda: _true(breaker.trips >= 1))
                # The outage's clicks are written from the local buffer meanwhile.
                await eventually(lambda: _counted(app, "hung", answered))
            finally:
                redis_server.resume()

            async def closed() -> bool:
                await client.get("/readyz")
                return not breaker.is_open

            await eventually(closed)
            for _ in range(10):
                assert (await client.get("/hung")).status_code == 302
                answered += 1

            async def settled() -> bool:
                return await _settled(app, redis_server.url, settings.redis_prefix)

            await eventually(lambda: _counted(app, "hung", answered))
            await eventually(settled)
            assert await click_counts(app, "hung") == (answered, answered)
