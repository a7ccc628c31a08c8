"""`GET /api/links/{key}/stats`: the numbers, their order, the window rules, and freshness."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shortener.models import ClickDimension, ClickDimensionDaily, Link
from tests.clicks import traffic as ua
from tests.clicks.traffic import visit, wait_written
from tests.factories import make_link, make_user

DAY = 86_400


def iso_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


async def test_stats_shape_and_breakdowns(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="shape")
    now = time.time()
    recorder = app.runtime.click_recorder
    recorder.clock = lambda: now - 2 * DAY
    await visit(client, "shape", ua=ua.CHROME_WINDOWS, ip="81.2.69.142", referrer="https://t.co/x")
    await visit(client, "shape", ua=ua.CHROME_WINDOWS, ip="81.2.69.142", referrer="https://t.co/y")
    recorder.clock = lambda: now
    await visit(client, "shape", ua=ua.SAFARI_IPHONE, ip="8.8.8.8", referrer="https://t.co/z")
    await visit(client, "shape", ua=ua.IPAD, ip="8.8.8.8")
    await visit(client, "shape", ua=ua.GOOGLEBOT, ip="8.8.8.8")
    await visit(client, "shape", ua=ua.SLACKBOT, ip="8.8.8.8")
    await wait_written(app, 6)

    response = await client.get("/api/links/shape/stats", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"] == "shape"
    assert body["total_clicks"] == 4  # bots left out by default
    assert body["unique_visitors"] == 3  # chrome@GB, safari@US, ipad@US
    assert body["referrers"] == [
        {"value": "t.co", "clicks": 3},
        {"value": None, "clicks": 1},
    ]
    assert body["countries"] == [{"value": "GB", "clicks": 2}, {"value": "US", "clicks": 2}]
    assert body["browsers"] == [
        {"value": "Chrome", "clicks": 2},
        {"value": "Mobile Safari", "clicks": 2},
    ]
    # Ties go by value (code point order).
    assert body["os"] == [{"value": "Windows", "clicks": 2}, {"value": "iOS", "clicks": 2}]
    assert body["devices"] == [
        {"value": "desktop", "clicks": 2},
        {"value": "mobile", "clicks": 1},
        {"value": "tablet", "clicks": 1},
    ]
    # The default window: the last 30 days, day by day, empty days as zeros.
    series = body["timeseries"]
    assert len(series) == 31
    assert sum(p["clicks"] for p in series) == 4
    assert series[-1] == {"t": f"{iso_day(now)}T00:00:00Z", "clicks": 2}
    assert series[-3] == {"t": f"{iso_day(now - 2 * DAY)}T00:00:00Z", "clicks": 2}
    assert series[-2]["clicks"] == 0
    assert body["from"] == series[0]["t"]

    with_bots = (
        await client.get("/api/links/shape/stats?include_bots=true", headers=headers)
    ).json()
    assert with_bots["total_clicks"] == 6
    assert {"value": "bot", "clicks": 2} in with_bots["devices"]


async def test_hourly_window(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="hourly")
    base = (int(time.time()) // DAY - 1) * DAY  # yesterday, 00:00 UTC
    for hour in (1, 1, 5):
        app.runtime.click_recorder.clock = lambda h=hour: base + h * 3600 + 59
        await visit(client, "hourly", ip="81.2.69.142")
    await wait_written(app, 3)
    start = datetime.fromtimestamp(base, UTC).isoformat()
    end = datetime.fromtimestamp(base + 6 * 3600, UTC).isoformat()
    response = await client.get(
        "/api/links/hourly/stats",
        params={"from": start, "to": end, "interval": "hour"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["clicks"] for p in body["timeseries"]] == [0, 2, 0, 0, 0, 1]
    assert body["total_clicks"] == 3
    assert body["unique_visitors"] == 1


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"from": "2026-02-01", "to": "2026-01-01"}, "after"),
        ({"from": "yesterday"}, "ISO 8601"),
        ({"to": "2026-13-45"}, "ISO 8601"),
        ({"from": "2025-01-01", "to": "2025-03-01", "interval": "hour"}, "31 days"),
        ({"from": "1900-01-01", "to": "2026-01-01"}, "at most"),
        ({"interval": "week"}, "hour"),
        ({"include_bots": "maybe"}, "bool"),
    ],
)
async def test_bad_windows_are_422(client, params, needle) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="win")
    response = await client.get("/api/links/win/stats", params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert needle in response.text


async def test_other_users_links_are_404(client) -> None:  # type: ignore[no-untyped-def]
    owner = await make_user(client)
    await make_link(client, owner, alias="theirs")
    stranger = await make_user(client)
    assert (await client.get("/api/links/theirs/stats", headers=stranger)).status_code == 404
    assert (await client.get("/api/links/nothing/stats", headers=owner)).status_code == 404
    assert (await client.get("/api/links/theirs/stats")).status_code == 401
    admin = await make_user(client, admin=True)
    assert (await client.get("/api/links/theirs/stats", headers=admin)).status_code == 200


async def test_answers_are_cached_until_a_new_batch_or_a_change(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="fresh")
    cache = app.runtime.stats_cache

    async def total() -> int:
        response = await client.get("/api/links/fresh/stats", headers=headers)
        return int(response.json()["total_clicks"])

    assert await total() == 0
    hits = cache.info().hits
    assert await total() == 0
    assert cache.info().hits == hits + 1  # the same version: served from the cache

    await visit(client, "fresh", ip="81.2.69.142")
    await wait_written(app, 1)
    assert await total() == 1  # the batch bumped the version: a fresh answer at once

    misses = cache.info().misses
    patched = await client.patch("/api/links/fresh", json={"title": "new"}, headers=headers)
    assert patched.status_code == 200
    assert await total() == 1
    assert cache.info().misses == misses + 1  # the change made a new key


async def test_unknown_values_are_what_the_known_ones_leave(client, app) -> None:  # type: ignore[no-untyped-def]
    """No row is stored for an unknown value (no referrer, no country): the statistics count
    it as the rest of the clicks. Rows of the empty string that earlier versions stored are
    not counted twice, in day or hour windows."""
    headers = await make_user(client)
    await make_link(client, headers, alias="unknowns")
    base = (int(time.time()) // DAY - 1) * DAY  # yesterday, 00:00 UTC
    app.runtime.click_recorder.clock = lambda: base + 3600 + 59
    await visit(client, "unknowns")  # direct, from an address with no country
    await visit(client, "unknowns", ip="81.2.69.142", referrer="https://t.co/x")
    await visit(client, "unknowns")
    await wait_written(app, 3)
    async with app.runtime.sessionmaker() as session, session.begin():
        link_id = (await session.execute(select(Link.id).where(Link.key == "unknowns"))).scalar()
        empty = select(func.count()).where(
            ClickDimension.link_id == link_id, ClickDimension.value == ""
        )
        assert (await session.execute(empty)).scalar() == 0
        # As if an earlier version had written the first direct visit: its rows of "".
        for dimension in ("referrer", "country"):
            legacy = {"link_id": link_id, "is_bot": False, "dimension": dimension, "value": ""}
            session.add(ClickDimension(**legacy, hour=base // 3600 + 1, clicks=1))
            session.add(ClickDimensionDaily(**legacy, day=base // DAY, clicks=1))

    day = await client.get("/api/links/unknowns/stats", headers=headers)
    hour = await client.get(
        "/api/links/unknowns/stats",
        params={
            "from": datetime.fromtimestamp(base, UTC).isoformat(),
            "to": datetime.fromtimestamp(base + 6 * 3600, UTC).isoformat(),
            "interval": "hour",
        },
        headers=headers,
    )
    for response in (day, hour):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total_clicks"] == 3
        assert body["referrers"] == [{"value": None, "clicks": 2}, {"value": "t.co", "clicks": 1}]
        assert body["countries"] == [{"value": None, "clicks": 2}, {"value": "GB", "clicks": 1}]
        assert body["browsers"] == [{"value": "Chrome", "clicks": 3}]
