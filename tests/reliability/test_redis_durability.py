"""Redis itself is SIGKILLed mid-load while clicks wait in its stream, then started again.

The stream is kept deep on purpose (the serving app only queues, CLICK_FLUSHER=false, and the
flusher starts after the restart), the worst case: flushers behind, or the database away.
- Without persistence every click then in the stream is gone; doctor, /readyz and the start-up
  log said so beforehand.
- With AOF and appendfsync everysec at most the clicks of the last second or two before the
  kill are gone (Redis fsyncs once a second, and skips one when an fsync is slow).
Clicks answered while Redis was down wait in the worker and are all counted, either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shortener.doctor import check_redis
from shortener.main import create_app
from tests.factories import click_counts, eventually, make_link, make_user
from tests.processes import RedisServer

pytestmark = pytest.mark.parametrize("mode", ["postgres"])


class TimedTraffic:
    """Redirects in a loop; remembers when each answered redirect was answered."""

    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client, self.key = client, key
        self.answered: list[float] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            response = await self.client.get(f"/{self.key}")
            assert response.status_code == 302, response.text
            self.answered.append(time.monotonic())
            await asyncio.sleep(0.002)

    async def until(self, total: int) -> None:
        async def enough() -> bool:
            return len(self.answered) >= total

        await eventually(enough, timeout=30)

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture
def everysec_redis(tmp_path: Path) -> Iterator[RedisServer]:
    aof = tmp_path / "redis-aof"
    aof.mkdir()
    server = RedisServer(aof_dir=aof, appendfsync="everysec")
    try:
        server.start()
        yield server
    finally:
        server.close()


async def _kill_redis_mid_load(make_settings, server: RedisServer) -> tuple[int, int, int]:
    """(clicks answered, clicks answered in the 2 s before the kill, clicks counted)."""
    serving = create_app(
        make_settings(redis_url=server.url, click_flusher=False, redis_breaker_seconds=0.2)
    )
    async with serving.router.lifespan_context(serving):
        transport = httpx.ASGITransport(app=serving)
        async with httpx.AsyncClient(transport=transport, base_url="http://short.test") as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="durable")
            ready = (await client.get("/readyz")).json()
            traffic = TimedTraffic(client, "durable")
            runner = asyncio.create_task(traffic.run())
            try:
                await traffic.until(400)
                server.kill()  # SIGKILL, mid-load
                killed_at = time.monotonic()
                await traffic.until(len(traffic.answered) + 50)  # answered from the buffer
                server.start()
                await traffic.until(len(traffic.answered) + 50)
            finally:
                traffic.stop()
                await runner
            recent = sum(1 for t in traffic.answered if killed_at - 2.0 < t <= killed_at)
            queue = serving.runtime.click_queue  # type: ignore[attr-defined]

            async def buffer_written() -> bool:
                return queue.backlog()[0] == 0

            await eventually(buffer_written)
    # A flusher drains the stream (what survived in it).
    flusher = create_app(make_settings(redis_url=server.url, click_flush_interval=0.05))
    async with flusher.router.lifespan_context(flusher):
        queue = flusher.runtime.click_queue  # type: ignore[attr-defined]

        async def drained() -> bool:
            return await queue.pending() == 0

        await eventually(drained, timeout=30)
        counted, rows = await click_counts(flusher, "durable")
    assert counted == rows <= len(traffic.answered)
    assert ready["click_durability"] == ("aof everysec" if server.aof_dir else "none")
    return len(traffic.answered), recent, counted


async def test_without_persistence_queued_clicks_die_with_redis(
    make_settings, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shortener.clicks.durability"):
        answered, _, counted = await _kill_redis_mid_load(make_settings, redis_server)
    assert "clicks queued in its stream die with it" in caplog.text
    lost = answered - counted
    print(f"no persistence: {lost} of {answered} clicks lost")
    # Every click that had reached the stream before the kill (at least the 400 answered
    # before it, less what the worker still held) is gone; those answered after are not.
    assert lost >= 300


async def test_with_aof_everysec_at_most_the_last_seconds_clicks_are_lost(
    make_settings, everysec_redis: RedisServer
) -> None:
    answered, recent, counted = await _kill_redis_mid_load(make_settings, everysec_redis)
    lost = answered - counted
    print(f"AOF everysec: {lost} of {answered} clicks lost ({recent} answered in the last 2 s)")
    assert 0 <= lost <= recent


async def test_doctor_says_what_a_crash_of_redis_would_cost(
    make_settings, redis_server: RedisServer, everysec_redis: RedisServer
) -> None:
    bare = await check_redis(make_settings(redis_url=redis_server.url))
    assert ("warn", "click queue durability none") in [(f.level, f.what) for f in bare]
    assert any("appendonly yes" in f.fix for f in bare)
    aof = await check_redis(make_settings(redis_url=everysec_redis.url))
    assert [f.level for f in aof] == ["ok", "ok"]
    assert aof[1].what.startswith("click queue durability: aof everysec")
