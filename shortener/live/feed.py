"""What the live feed tells a link's owner: the click total and the latest visits.

Fed by the flusher once a batch is committed (the same hook as the webhooks' link.clicked),
so it never touches the redirect path. A visit shows what the statistics show (time, country,
device, browser, OS, referrer host, bot flag); never the IP, which no click carries past the
redirect, nor the visitor hash.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.auth.sessions import session_alive
from shortener.clicks.enrich import parse_agent, referrer_host
from shortener.clicks.events import ClickRecord
from shortener.countries import country_name
from shortener.live.broker import LiveBroker
from shortener.models import Click, Link, Membership, User, Workspace
from shortener.workspaces.service import meets_two_factor

log = logging.getLogger(__name__)

LATEST = 20  # visits in an event, and in the page's list


@dataclass(frozen=True, slots=True)
class Visit:
    at: datetime
    country: str | None
    device: str | None
    browser: str | None
    os: str | None
    referrer: str | None
    bot: bool

    @property
    def country_name(self) -> str | None:
        return country_name(self.country) if self.country else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "country": self.country,
            "country_name": self.country_name,  # what the page shows ('GB': 'United Kingdom')
            "device": self.device,
            "browser": self.browser,
            "os": self.os,
            "referrer": self.referrer,
            "bot": self.bot,
        }


def visit_of(click: ClickRecord) -> Visit:
    agent = parse_agent(click.user_agent)
    return Visit(
        at=datetime.fromtimestamp(click.ts, UTC),
        country=click.country,
        device=agent.device,
        browser=agent.browser,
        os=agent.os,
        referrer=referrer_host(click.referrer),
        bot=agent.is_bot,
    )


def event_payload(*, total: int, visits: Sequence[Visit] = (), new: int = 0) -> bytes:
    """One event: the link's click total, how many clicks this batch added, and the newest
    visits first."""
    return orjson.dumps(
        {"total_clicks": total, "clicks": new, "visits": [v.to_dict() for v in visits]}
    )


class LiveFeed:
    def __init__(self, broker: LiveBroker, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._broker = broker
        self._sessionmaker = sessionmaker

    async def clicks_written(self, clicks: Sequence[ClickRecord]) -> None:
        """After a committed batch: one event per link somebody is watching."""
        per_link: dict[int, list[ClickRecord]] = defaultdict(list)
        for click in clicks:
            per_link[click.link_id].append(click)
        watched = await self._broker.watched(per_link)
        if not watched:
            return
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(col(Link.id), col(Link.clicks)).where(col(Link.id).in_(watched))
            )
            totals = [(link_id or 0, total) for link_id, total in rows]
        for link_id, total in totals:
            batch = per_link[link_id]
            newest = sorted(batch, key=lambda c: c.ts, reverse=True)[:LATEST]
            # User-agent parsing is CPU work (cached by ua-parser, but not always): off the loop.
            visits = await asyncio.to_thread(_visits, newest)
            payload = event_payload(total=total, visits=visits, new=len(batch))
            await self._broker.publish(link_id, payload)


def _visits(clicks: Sequence[ClickRecord]) -> list[Visit]:
    return [visit_of(click) for click in clicks]


async def latest_visits(session: AsyncSession, link_id: int, limit: int = LATEST) -> list[Visit]:
    """The newest raw clicks of a link (the page's list before any live event arrives)."""
    rows = (
        await session.execute(
            select(Click)
            .where(col(Click.link_id) == link_id)
            .order_by(col(Click.clicked_at).desc())
            .limit(limit)
        )
    ).scalars()
    return [
        Visit(
            at=row.clicked_at,
            country=row.country,
            device=row.device,
            browser=row.browser,
            os=row.os,
            referrer=row.referrer_host,
            bot=row.is_bot,
        )
        for row in rows
    ]


async def link_total(sessionmaker: async_sessionmaker[AsyncSession], link_id: int) -> int | None:
    """The link's click total now; None once the link is gone."""
    async with sessionmaker() as session:
        total: int | None = await session.scalar(
            select(col(Link.clicks)).where(col(Link.id) == link_id)
        )
    return total


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who follows which link, through which sign-in session."""

    link_id: int
    key: str
    user_id: int
    session_id: int


async def may_watch(sessionmaker: async_sessionmaker[AsyncSession], viewer: Viewer) -> bool:
    """Whether the viewer may still follow the link: their session stands, and the link
    exists in a workspace they are still a member of (or they are an administrator) and
    whose two-factor requirement, if it has one, they meet (as every route asks)."""
    async with sessionmaker() as session:
        if not await session_alive(session, session_id=viewer.session_id):
            return False
        row = (
            await session.execute(
                select(
                    col(Membership.id),
                    col(User.is_admin),
                    col(User.totp_enabled),
                    col(Workspace.require_two_factor),
                )
                .select_from(Link)
                .join(User, col(User.id) == viewer.user_id)
                .join(Workspace, col(Workspace.id) == col(Link.workspace_id))
                .outerjoin(
                    Membership,
                    (col(Membership.workspace_id) == col(Link.workspace_id))
                    & (col(Membership.user_id) == viewer.user_id),
                )
                .where(col(Link.id) == viewer.link_id)
            )
        ).first()
    if row is None or not meets_two_factor(
        required=row.require_two_factor, enabled=row.totp_enabled
    ):
        return False
    return row[0] is not None or bool(row.is_admin)
