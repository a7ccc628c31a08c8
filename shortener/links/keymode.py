"""SHORT_URL_MODE: whether keys compare case-sensitively (strict) or not (loose).

Loose keys are stored lower-cased, so the redirect path, the cache and the unique constraints
keep comparing plain strings. Switching a database to loose lower-cases the keys written before;
it is refused, naming them, while two keys of one domain differ only by case (both cannot
survive: the operator decides which). `shortener migrate` and `serve` apply it; `doctor` reports.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from shortener.config import ConfigError
from shortener.models import Domain, Link

SHOWN = 20


async def case_clashes(conn: AsyncConnection) -> list[str]:
    """Groups of keys that differ only by case, each as `'Abc', 'abc' (domain)`."""
    folded = func.lower(col(Link.key))
    groups = (
        select(col(Link.domain_id), folded.label("folded"))
        .group_by(col(Link.domain_id), folded)
        .having(func.count() > 1)
        .limit(SHOWN)
        .subquery()
    )
    rows = await conn.execute(
        select(col(Link.domain_id), col(Link.key), col(Domain.hostname))
        .join(
            groups,
            (func.lower(col(Link.key)) == groups.c.folded)
            & (func.coalesce(col(Link.domain_id), 0) == func.coalesce(groups.c.domain_id, 0)),
        )
        .outerjoin(Domain, col(Domain.id) == col(Link.domain_id))
        .order_by(col(Link.domain_id), func.lower(col(Link.key)), col(Link.key))
    )
    found: dict[tuple[str, str], list[str]] = {}
    for _, key, hostname in rows:
        found.setdefault((hostname or "default domain", key.lower()), []).append(repr(key))
    return [f"{', '.join(keys)} ({where})" for (where, _), keys in found.items()]


async def apply_key_mode(conn: AsyncConnection, mode: str) -> int:
    """Make the stored keys fit `mode`: under loose, lower-case them (refused with ConfigError,
    naming them, while two would become one). The number of keys changed."""
    if mode != "loose":
        return 0
    clashes = await case_clashes(conn)
    if clashes:
        raise ConfigError(
            "SHORT_URL_MODE=loose needs keys that differ by more than case; these do not: "
            + "; ".join(clashes)
            + ". Rename or delete one of each (or keep SHORT_URL_MODE=strict)."
        )
    changed = await conn.execute(
        update(Link)
        .where(col(Link.key) != func.lower(col(Link.key)))
        .values(key=func.lower(col(Link.key)))
    )
    return int(changed.rowcount or 0)
