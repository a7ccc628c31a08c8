"""The rollups always equal a direct count of the raw clicks (a property, with hypothesis)."""

from __future__ import annotations

import time
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shortener.clicks.salts import day_of
from shortener.models import Click, ClickDimension, ClickDimensionDaily, ClickRollup, Link
from tests.clicks import traffic as ua
from tests.clicks.traffic import visit, wait_written
from tests.factories import make_user

DAY = 86_400
AGENTS = [ua.CHROME_WINDOWS, ua.SAFARI_IPHONE, ua.IPAD, ua.GOOGLEBOT, ua.CURL, ua.ANDROID_PHONE]
IPS = ["81.2.69.142", "8.8.8.8", "133.242.0.1", "10.0.0.7", "2a00:1450:4001:82a::200e"]
REFERRERS = [None, "https://t.co/abc", "https://news.ycombinator.com/item?id=1"]
KEYS = ["prop-a", "prop-b"]

click_strategy = st.tuples(
    st.sampled_from(KEYS),
    st.integers(min_value=0, max_value=2),  # days ago
    st.integers(min_value=0, max_value=DAY - 1),  # second of that day
    st.sampled_from(AGENTS),
    st.sampled_from(IPS),
    st.sampled_from(REFERRERS),
)


async def direct_counts(app) -> tuple[Counter, Counter, Counter, Counter]:  # type: ignore[no-untyped-def, type-arg]
    """(clicks, visitors, dimension clicks) from raw clicks, and the same from the rollups."""
    async with app.runtime.sessionmaker() as session:
        raw = (
            await session.execute(
                select(
                    Click.link_id,
                    Click.clicked_at,
                    Click.is_bot,
                    Click.visitor_hash,
                    Click.referrer_host,
                    Click.country,
                    Click.browser,
                    Click.os,
                    Click.device,
                )
            )
        ).all()
        rollups = (await session.execute(select(ClickRollup))).scalars().all()
        dims = (await session.execute(select(ClickDimension))).scalars().all()
        daily = (await session.execute(select(ClickDimensionDaily))).scalars().all()
    raw_clicks: Counter = Counter()  # type: ignore[type-arg]
    raw_dims: Counter = Counter()  # type: ignore[type-arg]
    firsts: set[tuple] = set()  # type: ignore[type-arg]
    for link_id, at, is_bot, vh, ref, country, browser, os, device in raw:
        hour = int(at.timestamp()) // 3600
        raw_clicks[(link_id, hour, is_bot)] += 1
        values = {"referrer": ref, "country": country, "browser": browser, "os": os}
        values["device"] = device
        for dimension, value in values.items():
            if value:  # an unknown value has no row: the stats derive it (with_unknown)
                raw_dims[(link_id, hour, is_bot, dimension, value)] += 1
        if vh is not None:
            key = (link_id, day_of(at.timestamp()), vh, is_bot)
            firsts.add(key)
    # A visitor counts once a day, in the hour of their first click *written* that day; clicks
    # written out of order (as here, on purpose) can move that hour, never the day's count.
    raw_visitors: Counter = Counter()  # type: ignore[type-arg]
    for link_id, day, _vh, is_bot in firsts:
        raw_visitors[(link_id, day, is_bot)] += 1
    rolled_clicks = Counter({(r.link_id, r.hour, r.is_bot): r.clicks for r in rollups})
    rolled_visitors: Counter = Counter()  # type: ignore[type-arg]
    for r in rollups:
        rolled_visitors[(r.link_id, r.hour // 24, r.is_bot)] += r.visitors
    rolled_dims = Counter(
        {(d.link_id, d.hour, d.is_bot, d.dimension, d.value): d.clicks for d in dims}
    )
    assert +rolled_clicks == raw_clicks
    assert +rolled_visitors == raw_visitors
    assert +rolled_dims == raw_dims
    raw_daily: Counter = Counter()  # type: ignore[type-arg]
    for (link_id, hour, is_bot, dimension, value), n in raw_dims.items():
        raw_daily[(link_id, hour // 24, is_bot, dimension, value)] += n
    rolled_daily = Counter(
        {(d.link_id, d.day, d.is_bot, d.dimension, d.value): d.clicks for d in daily}
    )
    assert +rolled_daily == raw_daily
    return raw_clicks, raw_visitors, raw_dims, rolled_clicks


# One app for all examples (hence the function-scoped fixture health check is off): the
# rollups must stay equal to the raw clicks as traffic accumulates, as in production.
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(clicks=st.lists(click_strategy, max_size=25))
async def test_rollups_equal_raw_counts(client, app, clicks) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    for key in KEYS:
        # Created on the first example; later ones find them there (409).
        await client.post(
            "/api/links", json={"url": "https://example.com/", "alias": key}, headers=headers
        )
    async with app.runtime.sessionmaker() as session:
        sent = int(
            (
                await session.execute(
                    select(func.coalesce(func.sum(Link.clicks + Link.bot_clicks), 0))
                )
            ).scalar()
        )
    recorder = app.runtime.click_recorder
    today = int(time.time()) // DAY
    for key, days_ago, second, agent, ip, referrer in clicks:
        recorder.clock = lambda d=days_ago, s=second: (today - d) * DAY + s
        await visit(client, key, ua=agent, ip=ip, referrer=referrer)
    await wait_written(app, sent + len(clicks))
    raw_clicks, *_ = await direct_counts(app)
    assert sum(raw_clicks.values()) == sent + len(clicks)
