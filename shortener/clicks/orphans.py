"""Writing visits to unknown links: raw rows within the per-minute cap, and their rollups, in
the click batch's transaction.

The cap across workers is one upsert per (domain, minute) of the batch on `orphan_minutes`:
it adds the batch's visits and returns the minute's total, so each worker takes its share
under the row's lock and never more than ORPHAN_VISITS_PER_MINUTE raw rows exist for a domain
and minute, however many workers queue them. What the cap leaves out, and the tallies the
workers' own caps sent (clicks/orphan_cap.py), are counted in `orphan_drops`, per hour.
As for clicks, a visit id is written once and only new rows reach the rollups.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from shortener.clicks.events import OrphanRecord
from shortener.clicks.rows import DIMENSIONS, enrich_rows, insert_for, table_of, upsert
from shortener.models import OrphanDimension, OrphanDrop, OrphanMinute, OrphanRollup, OrphanVisit

_IDS_PER_QUERY = 500
_VISIT_COLUMNS = tuple(c.name for c in table_of(OrphanVisit).columns)
# The path asked for is one more breakdown, beside the ones clicks have.
ORPHAN_DIMENSIONS = ("path", *DIMENSIONS)


def write_orphans_sync(
    session: Session, records: Sequence[OrphanRecord], *, per_minute: int
) -> int:
    """Write the visits and tallies of a batch; returns how many visits became raw rows."""
    dialect = session.get_bind().dialect.name
    drops: Counter[tuple[str, int]] = Counter()
    for tally in records:
        if tally.dropped:
            drops[(tally.domain, int(tally.ts // 3600))] += tally.dropped
    visits = _new_visits(session, [r for r in records if not r.dropped and r.path is not None])
    kept: list[OrphanRecord] = []
    by_minute: dict[tuple[str, int], list[OrphanRecord]] = defaultdict(list)
    for visit in visits:
        by_minute[(visit.domain, int(visit.ts // 60))].append(visit)
    for (domain, minute), group in sorted(by_minute.items()):  # locks in one order
        total = _take(session, dialect, domain, minute, len(group))
        allowed = max(0, min(len(group), per_minute - (total - len(group))))
        kept += group[:allowed]
        if len(group) > allowed:
            drops[(domain, minute // 60)] += len(group) - allowed
    inserted = _insert(session, dialect, kept)
    _rollups(session, dialect, inserted)
    upsert(
        session,
        dialect,
        OrphanDrop,
        [{"domain": d, "hour": h, "visits": n} for (d, h), n in sorted(drops.items())],
        ("visits",),
    )
    return len(inserted)


def _new_visits(session: Session, visits: list[OrphanRecord]) -> list[OrphanRecord]:
    """The visits not written yet (a redelivered batch holds written ones), each id once."""
    present: set[str] = set()
    ids = list({v.id for v in visits})
    for i in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[i : i + _IDS_PER_QUERY]
        present.update(
            session.execute(select(col(OrphanVisit.id)).where(col(OrphanVisit.id).in_(chunk)))
            .scalars()
            .all()
        )
    new = []
    for visit in visits:
        if visit.id not in present:
            present.add(visit.id)
            new.append(visit)
    return new


def _take(session: Session, dialect: str, domain: str, minute: int, n: int) -> int:
    """Add n to the minute's count of raw rows asked for; returns the total, n included."""
    row = {"domain": domain, "minute": minute, "visits": n}
    return int(session.execute(_take_statement(dialect), row).scalar_one())


@functools.cache
def _take_statement(dialect: str) -> Any:
    table = table_of(OrphanMinute)
    stmt = insert_for(dialect)(table)
    return stmt.on_conflict_do_update(
        index_elements=["domain", "minute"],
        set_={"visits": table.c.visits + stmt.excluded.visits},
    ).returning(table.c.visits)


def _insert(session: Session, dialect: str, visits: list[OrphanRecord]) -> list[dict[str, Any]]:
    if not visits:
        return []
    rows = enrich_rows(visits)
    for row, visit in zip(rows, visits, strict=True):
        row["domain"] = visit.domain
        row["path"] = visit.path or ""
        row["visited_at"] = row["clicked_at"]
    table = table_of(OrphanVisit)
    stmt = insert_for(dialect)(table).on_conflict_do_nothing().returning(table.c.id)
    values = [{name: row[name] for name in _VISIT_COLUMNS} for row in rows]
    new = set(session.execute(stmt, values).scalars().all())
    return [row for row in rows if row["id"] in new]


def _rollups(session: Session, dialect: str, rows: list[dict[str, Any]]) -> None:
    totals: Counter[tuple[str, int, bool]] = Counter()
    dimensions: Counter[tuple[str, int, bool, str, str]] = Counter()
    for row in rows:
        key = (row["domain"], row["hour"], row["is_bot"])
        totals[key] += 1
        dimensions[(*key, "path", row["path"])] += 1
        for dimension in DIMENSIONS:
            value = row["referrer_host" if dimension == "referrer" else dimension]
            dimensions[(*key, dimension, value or "")] += 1
    names = ("domain", "hour", "is_bot")
    total_rows = [
        {**dict(zip(names, k, strict=True)), "visits": n} for k, n in sorted(totals.items())
    ]
    upsert(session, dialect, OrphanRollup, total_rows, ("visits",))
    keys = (*names, "dimension", "value")
    dimension_rows = [
        {**dict(zip(keys, k, strict=True)), "visits": n} for k, n in sorted(dimensions.items())
    ]
    upsert(session, dialect, OrphanDimension, dimension_rows, ("visits",))
