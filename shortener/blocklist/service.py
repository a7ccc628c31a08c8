"""The blocklist of target domains: BLOCKED_DOMAINS plus what admins add at run time.

A domain blocks itself and every subdomain: blocking example.com blocks www.example.com.
Checked when a link is created and when its URL changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.blocklist.domains import candidates, normalise_domain
from shortener.errors import Conflict, Invalid, NotFound
from shortener.models import BlockedDomain
from shortener.urls import URLRefused, parse_web_url


@dataclass(frozen=True, slots=True)
class Entry:
    domain: str
    source: str  # "settings" (BLOCKED_DOMAINS) or "admin" (the database)
    reason: str | None = None
    created_at: datetime | None = None


async def blocked_among(
    session: AsyncSession, urls: list[str], configured: frozenset[str]
) -> dict[str, str]:
    """URL -> the blocked domain (or address) its host falls under, for those of `urls` that
    fall under one. Hosts are read by the one URL parser, the way a browser reads them.

    One query for them all: an import checks a thousand rows at a time.
    """
    covering: dict[str, list[str]] = {}
    for url in urls:
        try:
            covering[url] = candidates(parse_web_url(url))
        except URLRefused:
            continue  # not a web URL at all: the URL check refuses it
    wanted = {name for names in covering.values() for name in names} - configured
    stored: set[str] = set()
    if wanted:
        stored = set(
            (
                await session.execute(
                    select(col(BlockedDomain.domain)).where(col(BlockedDomain.domain).in_(wanted))
                )
            ).scalars()
        )
    blocked: dict[str, str] = {}
    for url, names in covering.items():
        hit = next((d for d in names if d in configured or d in stored), None)
        if hit is not None:
            blocked[url] = hit
    return blocked


def _normalise(domain: str) -> str:
    try:
        return normalise_domain(domain)
    except ValueError as exc:
        raise Invalid(str(exc), field="domain") from None


async def list_entries(session: AsyncSession, configured: frozenset[str]) -> list[Entry]:
    rows = (
        await session.execute(select(BlockedDomain).order_by(col(BlockedDomain.domain)))
    ).scalars()
    entries = [Entry(domain, "settings") for domain in sorted(configured)]
    entries += [Entry(r.domain, "admin", r.reason, r.created_at) for r in rows]
    return entries


async def add_entry(
    session: AsyncSession, configured: frozenset[str], *, domain: str, reason: str | None
) -> Entry:
    name = _normalise(domain)
    if name in configured or await session.get(BlockedDomain, name) is not None:
        raise Conflict(f"{name} is already blocked")
    row = BlockedDomain(domain=name, reason=reason)
    session.add(row)
    await session.flush()
    return Entry(row.domain, "admin", row.reason, row.created_at)


async def remove_entry(session: AsyncSession, configured: frozenset[str], *, domain: str) -> None:
    name = _normalise(domain)
    row = await session.get(BlockedDomain, name)
    if row is None:
        if name in configured:
            raise Conflict(f"{name} is blocked by the BLOCKED_DOMAINS setting; change it there")
        raise NotFound(f"{name} is not on the blocklist")
    await session.delete(row)
    await session.flush()
