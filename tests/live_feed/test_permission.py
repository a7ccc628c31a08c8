"""An open live feed keeps asking whether its viewer may still watch (finding 6)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.live_feed.conftest import Served, cookie_user, new_link, watched_link
from tests.live_feed.sse import EventReader
from tests.workspaces.helpers import new_slug


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


async def test_a_two_factor_requirement_ends_the_streams_of_members_without_it(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    """Turned on while a member without two-factor sign-in watches a workspace's link: the
    stream ends, as every route of that workspace now refuses them."""
    from tests.auth.test_two_factor import turn_on

    served = start_server()
    served.app.runtime.live.keepalive = 0.3
    owner, member = await cookie_user(http, served), await cookie_user(http, served)
    async with httpx.AsyncClient(base_url=served.url, timeout=http.timeout) as api:
        await turn_on(api, owner)
        slug = new_slug()
        made = await api.post("/api/workspaces", json={"name": "Live", "slug": slug}, headers=owner)
        assert made.status_code == 201, made.text
        invited = await api.post(
            f"/api/workspaces/{slug}/invitations", json={"role": "viewer"}, headers=owner
        )
        assert invited.status_code == 201, invited.text
        token = invited.json()["token"]
        joined = await api.post(f"/api/invitations/{token}/accept", headers=member)
        assert joined.status_code == 200, joined.text
        link = await new_link(api, served, {**owner, "X-Workspace": slug})
        url = f"{served.url}/w/{slug}/dashboard/links/{link['key']}/live"
        async with http.stream("GET", url, headers=member) as response:
            assert response.status_code == 200
            events = EventReader(response)
            await events.clicks(5)
            required = await api.patch(
                f"/api/workspaces/{slug}", json={"require_two_factor": True}, headers=owner
            )
            assert required.status_code == 200, required.text
            await ends_within(events, 5)
