"""The feed across workers (two apps sharing PostgreSQL and Redis), and at shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.clicks.traffic import FIREFOX_LINUX
from tests.conftest import LIVE_TIMEOUT
from tests.factories import eventually
from tests.live_feed.conftest import Served, cookie_user, new_link
from tests.live_feed.sse import EventReader
from tests.processes import ServeProcess, server_env


@pytest.mark.parametrize("mode", ["postgres"])  # workers share events through Redis
async def test_a_click_served_by_one_worker_reaches_a_stream_on_another(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    # Worker A only watches: its flusher waits 1000 s after its first (empty) turn, so every
    # click is written, and published, by worker B.
    watcher = start_server(click_flush_interval=1000)
    clicker = start_server()
    owner = await cookie_user(http, clicker)
    link = await new_link(http, clicker, owner)
    other = await new_link(http, clicker, owner)
    url = f"{watcher.url}/dashboard/links/{link['key']}/live"

    redis = Redis.from_url(watcher.settings.redis_url or "")
    try:
        async with (
            http.stream("GET", url, headers=owner) as tab1,
            http.stream("GET", url, headers=owner) as tab2,
            http.stream("GET", url, headers=owner) as tab3,
        ):
            tabs = [EventReader(tab) for tab in (tab1, tab2, tab3)]
            for tab in tabs:
                assert (await tab.clicks(5))["total_clicks"] == 0
            # Three tabs on one worker: one Redis subscriber for the link, fanned out in-process.
            channels = await redis.pubsub_channels(f"{watcher.settings.redis_prefix}live:*")
            assert len(channels) == 1
            ((_, subscribers),) = await redis.pubsub_numsub(channels[0])
            assert subscribers == 1

            person = {"User-Agent": FIREFOX_LINUX}  # the total counts people (bots apart)
            for key in (other["key"], link["key"], link["key"]):
                assert (await http.get(f"{clicker.url}/{key}", headers=person)).status_code == 302
            for tab in tabs:
                seen = await tab.until_total(2, timeout=LIVE_TIMEOUT)
                assert sum(len(event["visits"]) for event in seen) == 2
            assert watcher.app.runtime.flusher.flushed == 0

        async def unsubscribed() -> bool:
            return not await redis.pubsub_channels(f"{watcher.settings.redis_prefix}live:*")

        await eventually(unsubscribed)
    finally:
        await redis.aclose()


async def test_stopping_the_server_ends_open_streams_at_once(
    mode: str, make_settings: Callable[..., object], tmp_path: Path, http: httpx.AsyncClient
) -> None:
    """SIGTERM to `shortener serve` with tabs open: the streams end, the lifespan shutdown
    runs, well before uvicorn's graceful timeout (20 s) would cancel them."""
    settings = make_settings()
    workers = 2 if mode == "postgres" else 1
    server = ServeProcess(server_env(settings), tmp_path / "serve.log", workers=workers)  # type: ignore[arg-type]
    await server.start()
    try:
        served = Served(server.url, None, settings)  # type: ignore[arg-type]
        owner = await cookie_user(http, served)
        link = await new_link(http, served, owner)
        url = f"{server.url}/dashboard/links/{link['key']}/live"
        async with (
            http.stream("GET", url, headers=owner) as tab1,
            http.stream("GET", url, headers=owner) as tab2,
        ):
            tabs = [EventReader(tab1), EventReader(tab2)]
            for tab in tabs:
                await tab.clicks(5)
            started = time.monotonic()
            stopping = asyncio.create_task(server.terminate(timeout=30))
            try:
                for tab in tabs:
                    with pytest.raises(EOFError):
                        while True:
                            await tab.block(10)
            except BaseException:
                stopping.cancel()
                await asyncio.gather(stopping, return_exceptions=True)
                raise
            await stopping
            assert time.monotonic() - started < 10
        assert "graceful shutdown exceeded" not in server.log()
    finally:
        server.kill()
