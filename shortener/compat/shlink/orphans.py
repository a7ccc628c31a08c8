"""Visits to unknown links (orphans.service's raw rows) as Shlink's orphan visits.

Who sees which is orphans.service's rule (visible_orphan_domains): administrators every
domain's, anyone else the verified domains they own (nothing for an account without one: an
empty list, not Shlink's forbidden, so the web client's overview still loads).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.compat.shlink import problems
from shortener.compat.shlink.service import is_default, pagination
from shortener.compat.shlink.visits import VisitQuery, visit_fields
from shortener.keys import is_key
from shortener.links.context import LinkContext
from shortener.models import OrphanVisit
from shortener.orphans import service as orphans
from shortener.stats.visits import Totals
from shortener.workspaces.acting import Acting

OrphanType = Literal["base_url", "invalid_short_url", "regular_404"]


def orphan_type(path: str) -> OrphanType:
    """Shlink's kind of orphan visit, from the path asked for: a domain's root, something
    shaped like a key (one segment of key characters), or any other path."""
    if path in ("", "/"):
        return "base_url"
    if is_key(path.removeprefix("/")):
        return "invalid_short_url"
    return "regular_404"


async def _where(
    session: AsyncSession,
    *,
    acting: Acting,
    domain: str | None,
    ctx: LinkContext,
    start: datetime | None = None,
    end: datetime | None = None,
    include_bots: bool = True,
) -> list[ColumnElement[bool]]:
    visible = await orphans.visible_orphan_domains(session, acting)
    where: list[ColumnElement[bool]] = []
    if domain is not None:
        name = ctx.own_host if is_default(domain, ctx) else domain
        if visible is not None and name.lower() not in visible:
            raise problems.domain_not_found(domain)
        where.append(col(OrphanVisit.domain) == name.lower())
    elif visible is not None:
        where.append(col(OrphanVisit.domain).in_(sorted(visible)))
    if start is not None:
        where.append(col(OrphanVisit.visited_at) >= start)
    if end is not None:
        where.append(col(OrphanVisit.visited_at) <= end)
    if not include_bots:
        where.append(col(OrphanVisit.is_bot).is_(False))
    return where


def _visit(row: OrphanVisit, scheme: str) -> dict[str, Any]:
    fields = visit_fields(
        moment=row.visited_at,
        referrer_host=row.referrer_host,
        country=row.country,
        browser=row.browser,
        os=row.os,
        is_bot=row.is_bot,
        visited_url=f"{scheme}://{row.domain}{row.path}",
    )
    return fields | {"type": orphan_type(row.path)}


async def orphan_page(
    session: AsyncSession,
    query: VisitQuery,
    *,
    acting: Acting,
    ctx: LinkContext,
    domain: str | None,
    kind: OrphanType | None,
) -> dict[str, Any]:
    """One page of orphan visits, newest first, paged as the other visit lists."""
    page, per_page = query.page, query.per_page
    where = await _where(
        session,
        acting=acting,
        domain=domain,
        ctx=ctx,
        start=query.start,
        end=query.end,
        include_bots=query.include_bots,
    )
    newest = (col(OrphanVisit.visited_at).desc(), col(OrphanVisit.id).desc())
    offset = (page - 1) * per_page
    if kind is None:
        total = int(
            (
                await session.execute(select(func.count()).select_from(OrphanVisit).where(*where))
            ).scalar_one()
        )
        newest_first = select(OrphanVisit).where(*where).order_by(*newest)
        rows = list((await session.execute(newest_first.offset(offset).limit(per_page))).scalars())
    else:
        # The kind is derived from the path with the key rule (no portable SQL for it): the
        # ids and paths are read, classified, then the page's rows. Raw rows are few: the
        # redirect keeps at most ORPHAN_VISITS_PER_MINUTE a minute per domain.
        found = await session.execute(
            select(col(OrphanVisit.id), col(OrphanVisit.path)).where(*where).order_by(*newest)
        )
        ids = [id_ for id_, path in found if orphan_type(path) == kind]
        total = len(ids)
        wanted = ids[offset : offset + per_page]
        by_id = {
            row.id: row
            for row in (
                await session.execute(select(OrphanVisit).where(col(OrphanVisit.id).in_(wanted)))
            ).scalars()
        }
        rows = [by_id[id_] for id_ in wanted]
    scheme = urlsplit(ctx.base_url).scheme
    shown = pagination(page, per_page, len(rows), total)
    return {"visits": {"data": [_visit(r, scheme) for r in rows], "pagination": shown.model_dump()}}


async def orphan_totals(session: AsyncSession, *, acting: Acting, ctx: LinkContext) -> Totals:
    where = await _where(session, acting=acting, domain=None, ctx=ctx)
    visits, bots = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(cast(col(OrphanVisit.is_bot), Integer)), 0),
            ).where(*where)
        )
    ).one()
    return Totals(clicks=int(visits), bots=int(bots))


async def delete_orphans(session: AsyncSession, *, acting: Acting, ctx: LinkContext) -> int:
    """Shlink's DELETE /visits/orphan: every orphan visit the user may see, through the
    orphans service's purge (raw rows, and the rollups of the hours before now)."""
    where = await _where(session, acting=acting, domain=None, ctx=ctx)
    count = int(
        (
            await session.execute(select(func.count()).select_from(OrphanVisit).where(*where))
        ).scalar_one()
    )
    now = datetime.now(UTC)
    visible = await orphans.visible_orphan_domains(session, acting)
    for domain in [None] if visible is None else sorted(visible):
        await orphans.purge(session, acting=acting, domain=domain, before=now)
    return count
