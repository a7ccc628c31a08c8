"""GET /dashboard/links/{key}/live through a real uvicorn, in both storage modes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
from sqlalchemy import select

from shortener.db import make_engine, make_sessionmaker
from shortener.models import Click
from tests.factories import eventually
from tests.live_feed.conftest import Served, cookie_user, new_link
from tests.live_feed.sse import EventReader

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
VISITOR_IP = "81.2.69.160"  # in the bundled GeoIP data: GB
FLUSH_INTERVAL = 0.5


async def visitor_hashes(served: Served) -> list[str]:
    engine = make_engine(served.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.execute(select(Click.visitor_hash))
            return [h for (h,) in rows if h]
    finally:
        await engine.dispose()


async def test_a_click_reaches_the_owners_stream_within_the_flush_interval(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    served = start_server(click_flush_interval=FLUSH_INTERVAL)
    owner = await cookie_user(http, served)
    link = await new_link(http, served, owner)

    url = f"{served.url}/dashboard/links/{link['key']}/live"
    async with http.stream("GET", url, headers=owner) as response:
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-accel-buffering"] == "no"
        events = EventReader(response)
        first = await events.block(5)
        assert first.fields == {"retry": "3000"}
        assert await events.clicks(5) == {"total_clicks": 0, "clicks": 0, "visits": []}

        redirect = await http.get(
            f"{served.url}/{link['key']}",
            headers={
                "user-agent": CHROME_ANDROID,
                "referer": "https://t.co/abc?secret=1",
                "x-forwarded-for": VISITOR_IP,  # the test client is the trusted proxy
            },
        )
        assert redirect.status_code == 302
        sent = time.monotonic()
        # The promise of the API for the statistics, kept by the feed too.
        seen = await events.until_total(1, timeout=FLUSH_INTERVAL + 1)
        assert time.monotonic() - sent < FLUSH_INTERVAL + 1

    event = seen[-1]
    assert event["clicks"] == 1
    (visit,) = event["visits"]
    assert (visit["country"], visit["country_name"]) == ("GB", "United Kingdom")
    assert visit["device"] == "mobile"
    assert visit["browser"] == "Chrome"
    assert visit["os"] == "Android"
    assert visit["referrer"] == "t.co"
    assert visit["bot"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", visit["t"])
    assert set(visit) == {
        "t",
        "country",
        "country_name",
        "device",
        "browser",
        "os",
        "referrer",
        "bot",
    }

    # Nothing of the visitor's identity went out: no address, no visitor hash, no query.
    text = "\n".join(events.raw)
    assert "81.2.69" not in text
    assert "secret" not in text
    hashes = await visitor_hashes(served)
    assert hashes, "the click has a visitor hash in the database"
    assert not any(h in text for h in hashes)


async def test_only_the_owner_or_an_admin_may_follow_a_link(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    served = start_server()
    owner = await cookie_user(http, served)
    other = await cookie_user(http, served)
    admin = await cookie_user(http, served, admin=True)
    link = await new_link(http, served, owner)
    url = f"{served.url}/dashboard/links/{link['key']}/live"

    anonymous = await http.get(url, headers={"accept": "text/event-stream"})
    assert anonymous.status_code == 401
    assert not anonymous.headers["content-type"].startswith("text/event-stream")
    # Someone else's link does not exist for them, as on the link page itself.
    assert (await http.get(url, headers=other)).status_code == 404
    missing = f"{served.url}/dashboard/links/nosuch1/live"
    assert (await http.get(missing, headers=owner)).status_code == 404
    # A session cookie that does not verify is no session.
    forged = {"Cookie": "session=" + owner["Cookie"].split("=", 1)[1][:-4] + "AAAA"}
    assert (await http.get(url, headers=forged)).status_code == 401

    async with http.stream("GET", url, headers=admin) as response:
        events = EventReader(response)
        assert (await events.clicks(5))["total_clicks"] == 0


async def test_a_closed_tab_unsubscribes_and_idle_streams_get_keep_alives(
    start_server: Callable[..., Served], http: httpx.AsyncClient
) -> None:
    served = start_server()
    broker = served.app.runtime.live
    broker.keepalive = 0.2
    owner = await cookie_user(http, served)
    link = await new_link(http, served, owner)
    url = f"{served.url}/dashboard/links/{link['key']}/live"

    async with http.stream("GET", url, headers=owner) as response:
        events = EventReader(response)
        await events.clicks(5)
        assert broker.subscriptions == 1
        block = await events.block(5)
        assert block.comments == ["keep-alive"] and not block.fields

    async def unsubscribed() -> bool:
        return bool(broker.subscriptions == 0)

    await eventually(unsubscribed)
