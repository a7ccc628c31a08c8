"""The statistics service called directly, beside the HTTP tests: it answers what the API
answers, keeps bots apart unless asked, and knows no other user's links (both storage modes)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from shortener.errors import NotFound
from shortener.main import ShortenerApp
from shortener.models import User
from shortener.stats import service
from shortener.stats.cache import StatsCache
from shortener.stats.window import resolve_window
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import acting_as
from tests.factories import click_counts, eventually, make_link, make_user, new_email

HUMAN = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
BOT = {"user-agent": "curl/8.5.0"}


async def _user(app: ShortenerApp, email: str) -> Acting:
    """The account, acting in its personal workspace (as the API's default)."""
    async with app.runtime.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        return await acting_as(session, user=user)


async def test_link_stats_answer_as_the_api_does(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    email = new_email()
    headers = await make_user(client, email=email)
    link = await make_link(client, headers, url="https://stats.example/")
    for _ in range(3):
        assert (await client.get(f"/{link['key']}", headers=HUMAN)).status_code == 302
    assert (await client.get(f"/{link['key']}", headers=BOT)).status_code == 302

    async def flushed() -> bool:
        return await click_counts(app, link["key"]) == (4, 4)

    await eventually(flushed)
    owner = await _user(app, email)
    window = resolve_window(None, None, "day", now=datetime.now(UTC))
    async with app.runtime.sessionmaker() as session:
        humans = await service.link_stats(
            session, acting=owner, key=link["key"], window=window, include_bots=False, top=10,
            cache=StatsCache(8),
        )  # fmt: skip
        everyone = await service.link_stats(
            session, acting=owner, key=link["key"], window=window, include_bots=True, top=10,
            cache=StatsCache(8),
        )  # fmt: skip
    assert (humans.total_clicks, everyone.total_clicks) == (3, 4)
    api = (await client.get(f"/api/links/{link['key']}/stats", headers=headers)).json()
    assert api["total_clicks"] == humans.total_clicks
    assert api["browsers"] == [s.model_dump() for s in humans.browsers]


async def test_another_users_link_has_no_statistics(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    owner_headers = await make_user(client)
    link = await make_link(client, owner_headers)
    stranger = new_email()
    await make_user(client, email=stranger)
    window = resolve_window(None, None, "hour", now=datetime.now(UTC))
    async with app.runtime.sessionmaker() as session:
        with pytest.raises(NotFound):
            await service.link_stats(
                session, acting=await _user(app, stranger), key=link["key"], window=window,
                include_bots=False, top=10, cache=StatsCache(8),
            )  # fmt: skip
