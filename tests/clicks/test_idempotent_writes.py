"""A click id is written once, however often its batch is delivered."""

import time
from typing import Any

from sqlalchemy import func, select

from shortener.clicks.events import ClickRecord
from shortener.clicks.writer import write_clicks
from shortener.models import Click, Link
from tests.factories import make_link, make_user


async def test_redelivered_clicks_count_once(client, app: Any) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="once")
    async with app.runtime.sessionmaker() as session:
        link_id = (await session.execute(select(Link.id).where(Link.key == "once"))).scalar_one()
    # Within the retention: the app's own cleanup may run meanwhile and must find nothing old.
    start = time.time() - 3600
    batch = [ClickRecord(link_id=link_id, ts=start + i) for i in range(50)]
    async with app.runtime.sessionmaker() as session, session.begin():
        assert await write_clicks(session, batch) == 50
    # The same batch again (a retry after a lost acknowledgement), plus 10 new clicks.
    again = [*batch, *(ClickRecord(link_id=link_id, ts=start + 100) for _ in range(10))]
    async with app.runtime.sessionmaker() as session, session.begin():
        assert await write_clicks(session, again) == 10
    async with app.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(func.count()).select_from(Click).where(Click.link_id == link_id)
            )
        ).scalar_one()
        link = (await session.execute(select(Link).where(Link.id == link_id))).scalar_one()
        clicks = link.clicks + link.bot_clicks
    assert rows == clicks == 60


async def test_clicks_of_deleted_links_are_dropped(client, app: Any) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="gone1")
    async with app.runtime.sessionmaker() as session:
        link_id = (await session.execute(select(Link.id).where(Link.key == "gone1"))).scalar_one()
    assert (await client.delete("/api/links/gone1", headers=headers)).status_code == 204
    async with app.runtime.sessionmaker() as session, session.begin():
        assert await write_clicks(session, [ClickRecord(link_id=link_id, ts=1.0)]) == 0
