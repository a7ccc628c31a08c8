"""CSV export: a workspace's links in our format, a page at a time (API and CLI)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.audit.service import record_acting
from shortener.db import commit, read_errors
from shortener.domains.service import hostnames
from shortener.links.service import tags_of
from shortener.models import Link
from shortener.transfer.formats import (
    DOMAIN_COLUMN,
    EXPORT_COLUMNS,
    OPTION_COLUMNS,
    USES_COLUMN,
    export_line,
    guard_formula,
)
from shortener.workspaces.acting import Acting


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):  # rules, variants: JSON, as the API takes them
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    return guard_formula(value)


def _set(column: Any) -> Any:
    """A JSON column holding something: neither SQL NULL nor JSON null (what None becomes)."""
    return and_(column.is_not(None), cast(column, String) != "null")


def _with_options(workspace_id: int) -> Any:
    """The workspace's links that use a redirect option or a password (see OPTION_COLUMNS)."""
    return (
        select(col(Link.id))
        .where(
            col(Link.workspace_id) == workspace_id,
            or_(
                _set(col(Link.rules)),
                _set(col(Link.variants)),
                col(Link.forward_query),
                col(Link.forward_path),
                *(
                    column.is_not(None)
                    for column in (
                        col(Link.fallback_url),
                        col(Link.og_title),
                        col(Link.og_description),
                        col(Link.og_image),
                        col(Link.password_hash),
                    )
                ),
            ),
        )
        .limit(1)
    )


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession], *, workspace_id: int
) -> AsyncIterator[str]:
    """The workspace's links as CSV text, header first (what GET /api/links/export streams)."""
    async for text, _rows in export_chunks(sessionmaker, workspace_id=workspace_id):
        yield text


async def export_started(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    acting: Acting,
    separate: bool,
    session: AsyncSession,
) -> AsyncIterator[str]:
    """export_csv with its header already made (after the first query), for a streamed
    answer: a database that does not answer is an error before the response starts (503, see
    read_errors), not a download cut short. `separate`: the sessions are DATABASE_READ_URL's.
    The export is audited on `session`, the request's own, committed here, before the export's
    session begins: on SQLite each would otherwise wait for the other's write lock."""
    await record_acting(session, acting, "export", detail={"format": "csv"})
    await commit(session)
    rows = export_csv(sessionmaker, workspace_id=acting.workspace_id)
    async with read_errors(separate):
        header = await anext(rows)
    return _prepend(header, rows)


async def _prepend(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for text in rest:
        yield text


async def export_chunks(
    sessionmaker: async_sessionmaker[AsyncSession], *, workspace_id: int, page: int = 1000
) -> AsyncIterator[tuple[str, int]]:
    """CSV text and how many links it holds: the header, then a page of links at a time,
    oldest first. It opens its own session: a streamed response outlives the request's."""
    last_id = 0
    async with sessionmaker() as session:
        on_domains = (
            await session.execute(
                select(col(Link.id))
                .where(col(Link.workspace_id) == workspace_id, col(Link.domain_id).is_not(None))
                .limit(1)
            )
        ).first() is not None
        on_options = (await session.execute(_with_options(workspace_id))).first() is not None
        limited = select(col(Link.id)).where(
            col(Link.workspace_id) == workspace_id, col(Link.max_clicks).is_not(None)
        )
        on_limits = (await session.execute(limited.limit(1))).first() is not None
        columns = (
            *EXPORT_COLUMNS,
            *(OPTION_COLUMNS if on_options else ()),
            *((USES_COLUMN,) if on_limits else ()),
            *((DOMAIN_COLUMN,) if on_domains else ()),
        )
        yield export_line(columns), 0
        while True:
            links = list(
                (
                    await session.execute(
                        select(Link)
                        .where(col(Link.workspace_id) == workspace_id, col(Link.id) > last_id)
                        .order_by(col(Link.id))
                        .limit(page)
                    )
                ).scalars()
            )
            if not links:
                return
            tags = await tags_of(session, [link.id or 0 for link in links])
            hosts = await hostnames(session, {link.domain_id for link in links if link.domain_id})
            lines = []
            for link in links:
                values = [getattr(link, name, None) for name in columns]
                if on_options:
                    values[columns.index("has_password")] = link.password_hash is not None
                values[columns.index("tags")] = "|".join(tags.get(link.id or 0, []))
                if on_domains:
                    values[-1] = hosts.get(link.domain_id or 0)
                lines.append(export_line(_cell(v) for v in values))
            yield "".join(lines), len(links)
            last_id = links[-1].id or 0
            session.expunge_all()
