"""An open live feed keeps asking whether its viewer may still watch (finding 6)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.live_feed.conftest import Served, watched_link
from tests.live_feed.sse import EventReader


async def ends_within(events: EventReader, seconds: float) -> float:
    """Read until the stream ends; how long that took (AssertionError past `seconds`)."""
    started = time.monotonic()
    while True:
        remaining = seconds - (time.monotonic() - started)
        assert remaining > 0, f"the stream was still open after {seconds}s"
        try:
            block = await events.block(remaining)
        except EOFError:
            return time.monotonic() - started
        except TimeoutError:
            pytest.fail(f"the stream was still open after {seconds}s")
        assert block.event != "clicks" or block.data()["total_clicks"] == 0


async def test_deleting_the_link_ends_its_open_stream(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    served = start_server()
    broker = served.app.runtime.live
    assert broker.keepalive >= 10  # what ends the stream is the deletion, not a periodic check
    owner, key, url = await watched_link(http, served)

    async with http.stream("GET", url, headers=owner) as response:
        events = EventReader(response)
        await events.clicks(5)
        deleted = await http.delete(f"{served.url}/api/links/{key}", headers=owner)
        assert deleted.status_code == 204
        assert await ends_within(events, 5) < broker.keepalive
    # The key now names nothing: the reconnecting EventSource gets a 404 and gives up.
    assert (await http.get(url, headers=owner)).status_code == 404


async def test_signing_out_ends_the_streams_of_that_session(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    served = start_server()
    served.app.runtime.live.keepalive = 0.3
    owner, _, url = await watched_link(http, served)

    async with http.stream("GET", url, headers=owner) as response:
        events = EventReader(response)
        await events.clicks(5)
        out = await http.post(f"{served.url}/api/auth/logout", headers=owner)
        assert out.status_code == 204
        await ends_within(events, 5)
