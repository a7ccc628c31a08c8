"""Batches written at the same moment (several workers' flushers) over the same links all count,
once each, in every table: the counters, the rollups, the dimensions and the visitors."""

import asyncio
import random
import time
from typing import Any

from sqlalchemy import func, select

from shortener import models
from shortener.clicks.events import ClickRecord
from shortener.clicks.writer import write_clicks
from shortener.models import ClickDimension, ClickDimensionDaily, ClickRollup, Link, LinkVisitor
from tests.factories import make_link, make_user

WRITERS, BATCHES, CLICKS = 3, 6, 80
# Clicks of the last two days: the app's own retention cleanup (its flusher's first run, soon
# after start) deletes raw clicks past CLICK_RETENTION_DAYS and visitor rows past three days,
# and may run while the batches are written. Clicks of 2023 lost their raw rows to it once.
SPREAD = 2 * 86_400
DIMENSION_COLUMNS = ("referrer_host", "country", "browser", "os", "device")
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.4.0",
)


async def test_concurrent_batches_over_the_same_links(client, app: Any) -> None:
    headers = await make_user(client)
    for i in range(15):
        await make_link(client, headers, alias=f"together{i}")
    async with app.runtime.sessionmaker() as session:
        query = select(Link.id).where(Link.key.startswith("together"))  # type: ignore[attr-defined]
        ids = list((await session.execute(query)).scalars())
    visitors: set[tuple[int, int, str]] = set()
    now = time.time()

    async def writer(seed: int) -> int:
        rng = random.Random(seed)
        written = 0
        for _ in range(BATCHES):
            batch = []
            for _ in range(CLICKS):
                ts = now - rng.randrange(SPREAD)
                visitor = f"v{rng.randrange(40)}"
                click = ClickRecord(
                    link_id=rng.choice(ids),
                    ts=ts,
                    user_agent=rng.choice(AGENTS),
                    referrer=rng.choice(("", "https://news.example/", "https://a.example/x")),
                    country=rng.choice((None, "DE", "FR")),
                    visitor_hash=visitor,
                )
                visitors.add((click.link_id, int(ts // 86_400), visitor))
                batch.append(click)
            async with app.runtime.sessionmaker() as session, session.begin():
                written += await write_clicks(session, batch)
        return written

    written = await asyncio.gather(*(writer(seed) for seed in range(WRITERS)))
    total = WRITERS * BATCHES * CLICKS
    assert sum(written) == total
    async with app.runtime.sessionmaker() as session:

        async def sum_of(column: Any) -> int:
            return int((await session.execute(select(func.sum(column)))).scalar_one() or 0)

        assert await sum_of(Link.clicks + Link.bot_clicks) == total
        assert await sum_of(ClickRollup.clicks) == total
        # Five dimensions a click, one row each for a known value (unknown ones have none).
        raw = await session.execute(select(*(getattr(models.Click, c) for c in DIMENSION_COLUMNS)))
        known = sum(1 for row in raw for value in row if value)
        assert 0 < known < 5 * total  # both kinds were written (no referrer, no country)
        assert await sum_of(ClickDimension.clicks) == known
        assert await sum_of(ClickDimensionDaily.clicks) == known
        assert await sum_of(ClickRollup.visitors) == len(visitors)
        stored = (await session.execute(select(func.count()).select_from(LinkVisitor))).scalar()
        assert stored == len(visitors)
