"""PostgreSQL: raw clicks partitioned by month, so retention drops a month's table instead of
deleting millions of rows (a DELETE leaves dead tuples to vacuum and bloats the indexes).

`clicks` is `PARTITION BY RANGE (clicked_at)` with one partition per UTC month, named
`clicks_YYYY_MM`, and `clicks_default` for any month not created yet, so an insert never fails.
Months are created ahead (this one and AHEAD_MONTHS more) by every flusher about once an hour
and by `shortener partitions`; creating a month whose clicks already sit in the default moves
them into it in the same transaction (PostgreSQL refuses to create a partition while the default
holds rows that belong to it). SQLite keeps one plain table: every function here is a no-op
there.

Everything is idempotent and serialised by a transaction-scoped advisory lock, so several
workers may run it at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

PARENT = "clicks"
DEFAULT = "clicks_default"
AHEAD_MONTHS = 3
ENSURE_EVERY = 3600.0  # seconds between a flusher's checks (a catalog query when nothing to do)
# pg_advisory_xact_lock key: any constant of our own ("clks" in ASCII).
_LOCK = 0x636C6B73
_MONTH_NAME = re.compile(r"^clicks_(\d{4})_(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, at: datetime) -> Month:
        at = at.astimezone(UTC)
        return cls(at.year, at.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant not in this month (partition bounds are [start, end))."""
        return self.plus(1).start

    @property
    def name(self) -> str:
        return f"clicks_{self.year:04d}_{self.month:02d}"


@dataclass(frozen=True, slots=True)
class Ensured:
    created: list[str]
    moved: int  # rows moved out of the default partition into months created for them


def is_partitioned(conn: Connection) -> bool:
    """Whether `clicks` is a partitioned table (PostgreSQL after the migration)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:t)"),
        {"t": PARENT},
    ).scalar()
    return kind == "p"


def not_a_partition(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's include_name: the partitions are not in the models (only their parent is),
    and are no drift."""
    return not (
        type_ == "table" and name is not None and (name == DEFAULT or _MONTH_NAME.match(name))
    )


def months(conn: Connection) -> list[Month]:
    """The monthly partitions that exist, oldest first (the default one apart)."""
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": PARENT},
    ).scalars()
    found = [m for m in (_MONTH_NAME.match(name) for name in names) if m]
    return sorted(Month(int(m[1]), int(m[2])) for m in found)


def ensure_sync(
    conn: Connection, *, ahead: int = AHEAD_MONTHS, now: datetime | None = None
) -> Ensured:
    """Create this month's partition and `ahead` more, and one for every month that has rows in
    the default partition (moving them); in the caller's transaction."""
    if not is_partitioned(conn):
        return Ensured([], 0)
    this = Month.of(now or datetime.now(UTC))
    wanted = {this.plus(i) for i in range(ahead + 1)}
    present = set(months(conn))
    stranded = _months_in_default(conn)
    if wanted <= present and not stranded:
        return Ensured([], 0)  # the hourly case: two catalog queries and an empty scan
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    present = set(months(conn))  # another worker may have made them while we waited
    created, moved = [], 0
    for month in sorted((wanted | set(_months_in_default(conn))) - present):
        moved += create_month(conn, month)
        created.append(month.name)
    if moved:
        log.warning(
            "clicks: moved %d rows out of %s into partitions created for them (%s)",
            moved,
            DEFAULT,
            ", ".join(created),
        )
    return Ensured(created, moved)


def create_month(conn: Connection, month: Month) -> int:
    """Create the partition of `month`; returns how many rows it took from the default one."""
    bounds = f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
    create = f"CREATE TABLE {month.name} PARTITION OF {PARENT} {bounds}"
    between = {"start": month.start, "end": month.end}
    held = conn.execute(
        text(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} "  # noqa: S608 (constants only)
            "WHERE clicked_at >= :start AND clicked_at < :end)"
        ),
        between,
    ).scalar()
    if not held:
        conn.execute(text(create))
        return 0
    # The default holds some of this month: take it out, create the month, move its rows
    # through the parent (which routes them to the new partition), put the default back. All
    # in the caller's transaction, so no insert sees the table without a default.
    conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}"))
    conn.execute(text(create))
    moved = conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} "  # noqa: S608 (constants only)
            "WHERE clicked_at >= :start AND clicked_at < :end RETURNING *) "
            f"INSERT INTO {PARENT} SELECT * FROM moved"
        ),
        between,
    ).rowcount
    conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT"))
    return int(moved or 0)


def drop_expired_sync(conn: Connection, cutoff: datetime) -> int:
    """Drop the monthly partitions entirely older than `cutoff`; returns the rows they held.

    The month that straddles the cutoff (and the default partition) are left to the row
    deletes of retention.py."""
    if not is_partitioned(conn):
        return 0
    expired = [m for m in months(conn) if m.end <= cutoff]
    if not expired:
        return 0
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    dropped = 0
    for month in expired:
        # Counted for the log and the CLI's summary: a scan of a table about to go, far
        # cheaper than deleting its rows one by one.
        count = conn.execute(text(f"SELECT count(*) FROM {month.name}"))  # noqa: S608
        dropped += int(count.scalar_one())
        conn.execute(text(f"DROP TABLE IF EXISTS {month.name}"))
    return dropped


def rows_in_default(conn: Connection) -> int:
    """Rows in the default partition (0 on SQLite): ought to be none once months are ahead."""
    if not is_partitioned(conn):
        return 0
    return int(conn.execute(text(f"SELECT count(*) FROM {DEFAULT}")).scalar_one())  # noqa: S608


def _months_in_default(conn: Connection) -> list[Month]:
    rows = conn.execute(
        text(
            "SELECT DISTINCT date_trunc('month', clicked_at AT TIME ZONE 'UTC') "  # noqa: S608
            f"FROM {DEFAULT}"
        )
    ).scalars()
    return [Month(at.year, at.month) for at in rows]


def month_range(first: Month, last: Month) -> Iterable[Month]:
    month = first
    while month <= last:
        yield month
        month = month.plus(1)


async def ensure(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    ahead: int = AHEAD_MONTHS,
    now: datetime | None = None,
) -> Ensured:
    async with sessionmaker() as session, session.begin():
        conn = await session.connection()
        return await conn.run_sync(lambda sync: ensure_sync(sync, ahead=ahead, now=now))


async def in_default(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        conn = await session.connection()
        return await conn.run_sync(rows_in_default)
