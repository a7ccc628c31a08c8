"""Unique visitors: counted once a day, by a hash whose salt rotates daily and then vanishes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from shortener.models import Click, VisitorSalt
from tests.clicks.traffic import CHROME_WINDOWS, FIREFOX_LINUX, visit, wait_written
from tests.factories import make_link, make_user

DAY = 86_400


def iso_day(day: int) -> str:
    return datetime.fromtimestamp(day * DAY, UTC).date().isoformat()


async def test_unique_visitors_across_days(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="uniq")
    recorder = app.runtime.click_recorder
    today = int(time.time()) // DAY
    days = [today - 3, today - 2, today - 1]
    written = 0
    for day in days:
        # Noon of that day, as far as the recorder can tell.
        recorder.clock = lambda day=day: day * DAY + 12 * 3600
        for _ in range(3):  # one person, three clicks
            await visit(client, "uniq", ip="81.2.69.142", ua=CHROME_WINDOWS)
        await visit(client, "uniq", ip="81.2.69.142", ua=FIREFOX_LINUX)  # another browser
        await visit(client, "uniq", ip="8.8.8.8", ua=CHROME_WINDOWS)  # another person
        written += 5
        await wait_written(app, written)

    async def stats(start: int, end: int) -> dict:  # type: ignore[type-arg]
        params = {"from": iso_day(start), "to": iso_day(end)}
        response = await client.get("/api/links/uniq/stats", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    for day in days:
        one_day = await stats(day, day)
        assert (one_day["total_clicks"], one_day["unique_visitors"]) == (5, 3)
    # Daily uniques add up: a hash means nothing the next day, so nobody is followed across days.
    whole = await stats(days[0], days[-1])
    assert (whole["total_clicks"], whole["unique_visitors"]) == (15, 9)

    async with app.runtime.sessionmaker() as session:
        hashes = {
            day: set(
                (
                    await session.execute(
                        select(Click.visitor_hash).where(
                            Click.clicked_at >= datetime.fromtimestamp(day * DAY, UTC),
                            Click.clicked_at < datetime.fromtimestamp((day + 1) * DAY, UTC),
                        )
                    )
                ).scalars()
            )
            for day in days
        }
        salt_days = set((await session.execute(select(VisitorSalt.day))).scalars())
    assert all(len(h) == 3 for h in hashes.values())
    # The same person and browser hash differently each day: the salt rotated.
    assert not (hashes[days[0]] & hashes[days[1]]) and not (hashes[days[1]] & hashes[days[2]])
    # Only today's and yesterday's salts (of the recorder's clock) are left: older hashes can
    # no longer be recomputed from an IP address.
    assert salt_days == {days[-1], days[-2]}


async def test_one_visitor_has_one_hash_a_day(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="salty")
    for _ in range(5):
        await visit(client, "salty", ip="81.2.69.142")
    await wait_written(app, 5)
    async with app.runtime.sessionmaker() as session:
        hashes = set((await session.execute(select(Click.visitor_hash))).scalars())
        salts = list((await session.execute(select(VisitorSalt.salt))).scalars())
    assert len(hashes) == 1 and None not in hashes
    assert len(salts) == 1 and len(salts[0]) == 64
