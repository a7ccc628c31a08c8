"""The database reads of the redirect path: links by key, many at a time, and the keys.

Links are named by their cache ident (keys.link_ident): the bare key on the default domain,
read with `domain_id IS NULL` (the partial unique index: the same single-domain read as
before domains), `<domain id>:<key>` on another, read per domain.

A cache miss used to cost a session, a pool checkout, a statement and a Link row per key,
one after the other. Here every key that missed in the same moment is read by one
`WHERE key IN (...)` on a plain connection (no ORM session, the statement compiled once),
and the per-key work left is turning a row into a CachedLink.

On SQLite the read is a point read on the event loop's own thread, through a connection kept
for it (`SqliteReader`): an indexed read of a few rows in WAL mode takes microseconds and
never waits for a writer, while a hop to aiosqlite's thread and back took longer than the
read, and twice more when the click writer's thread held the interpreter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import JSON, Boolean, DateTime, bindparam, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from shortener.db import READ_ONLY
from shortener.keys import link_ident, split_ident
from shortener.models import Link, User
from shortener.redirect.link import CachedLink

# Only the columns CachedLink.of reads (and domain_id, for the ident): each further column was
# a value converted per miss (created_at and updated_at: two datetime parses) for nothing.
_CACHED = (
    "id", "key", "domain_id", "url", "expires_at", "max_clicks", "password_hash",
    "redirect_type", "is_active", "rules", "variants", "forward_query", "forward_path",
    "fallback_url", "og_title", "og_description", "og_image",
)  # fmt: skip
_LINK_COLUMNS = tuple(Link.__table__.columns[name] for name in _CACHED)  # type: ignore[attr-defined]
# A row read like a Link by CachedLink.of: attribute access on a tuple, no dict per row.
_Row = namedtuple("_Row", _CACHED)  # type: ignore[misc]
# Columns, not the ORM entity: building a Link instance cost more than the query.
_SELECT = select(*_LINK_COLUMNS, col(User.is_active).label("owner_active")).join(
    User, col(User.id) == col(Link.owner_id)
)
_BY_KEYS = _SELECT.where(
    col(Link.key).in_(bindparam("keys", expanding=True)), col(Link.domain_id).is_(None)
)
_BY_DOMAIN_KEYS = _SELECT.where(
    col(Link.key).in_(bindparam("keys", expanding=True)),
    col(Link.domain_id) == bindparam("domain"),
)
_KEYS_AFTER = (
    select(col(Link.id), col(Link.key), col(Link.domain_id))
    .where(col(Link.id) > bindparam("after"))
    .order_by(col(Link.id))
    .limit(bindparam("limit"))
)
log = logging.getLogger(__name__)

DIRECT_RETRY_SECONDS = 5.0

# SQLite allows 32,766 parameters a statement; PostgreSQL 65,535. Batches stay far below.
MAX_KEYS_PER_READ = 500


def by_domain(idents: Sequence[str]) -> dict[int | None, list[str]]:
    """The keys of `idents` grouped by domain id (None: the default domain)."""
    groups: dict[int | None, list[str]] = {}
    for ident in idents:
        domain_id, key = split_ident(ident)
        groups.setdefault(domain_id, []).append(key)
    return groups


def _chunks(keys: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(keys), MAX_KEYS_PER_READ):
        yield keys[start : start + MAX_KEYS_PER_READ]


async def read_links(engine: AsyncEngine, idents: Sequence[str]) -> dict[str, CachedLink]:
    """The links of `idents` that exist, by ident."""
    found: dict[str, CachedLink] = {}
    async with engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        for domain_id, keys in by_domain(idents).items():
            for chunk in _chunks(keys):
                if domain_id is None:
                    rows = await conn.execute(_BY_KEYS, {"keys": chunk})
                else:
                    rows = await conn.execute(_BY_DOMAIN_KEYS, {"keys": chunk, "domain": domain_id})
                for row in rows:
                    # The row has every column of Link under its name: it reads like one.
                    link = CachedLink.of(cast(Link, row), owner_active=row.owner_active)
                    found[link_ident(row.domain_id, row.key)] = link
    return found


async def keys_after(
    engine: AsyncEngine, after: int, *, chunk: int = 10_000
) -> AsyncIterator[list[tuple[int, str]]]:
    """(id, ident) of every link with an id above `after`, in id order, a chunk at a time."""
    while True:
        async with engine.connect() as conn:
            await conn.execution_options(**READ_ONLY)
            result = await conn.execute(_KEYS_AFTER, {"after": after, "limit": chunk})
            rows = [(int(row[0] or 0), link_ident(row[2], row[1])) for row in result]
        if not rows:
            return
        yield rows
        after = rows[-1][0]


class LinkReader:
    """Reads links by key for the LinkCache: on a SQLite file through a SqliteReader, on
    PostgreSQL through a PgReader; when that fails, or on another database, through the
    engine (whose error then says what is wrong, e.g. a 503 while the database is away)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        url = make_url(str(engine.url))
        database = url.database
        self._direct: SqliteReader | PgReader | None = None
        if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            self._direct = SqliteReader(database or "")
        elif engine.dialect.driver == "asyncpg":
            self._direct = PgReader(url.set(drivername="postgresql"))

        self._direct_after = 0.0  # after a failure, the engine's way for a while

    async def read(self, keys: Sequence[str]) -> dict[str, CachedLink]:
        direct = self._direct
        if direct is not None and time.monotonic() >= self._direct_after:
            try:
                if isinstance(direct, SqliteReader):
                    return direct.read(keys)
                return await direct.read(keys)
            except (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("direct link read failed (%s); reading through the engine", exc)
                self._direct_after = time.monotonic() + DIRECT_RETRY_SECONDS
                await direct.aclose()
        return await read_links(self._engine, keys)

    def read_now(self, keys: Sequence[str]) -> dict[str, CachedLink] | None:
        """The read done at once, on this thread, where that is the cheap way (a SQLite file);
        None where a read must wait for I/O (PostgreSQL, or the engine's way for a while after
        a failure). Nothing runs between the read and what the caller does with it."""
        direct = self._direct
        if not isinstance(direct, SqliteReader) or time.monotonic() < self._direct_after:
            return None
        try:
            return direct.read(keys)
        except sqlite3.Error as exc:
            log.warning("direct link read failed (%s); reading through the engine", exc)
            self._direct_after = time.monotonic() + DIRECT_RETRY_SECONDS
            direct.close()
            return None

    async def aclose(self) -> None:
        if self._direct is not None:
            await self._direct.aclose()


class SqliteReader:
    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        names = [f"links.{c.name}" for c in _LINK_COLUMNS]
        select_ = (
            f"SELECT {', '.join(names)}, users.is_active FROM links "  # noqa: S608 (constants)
            "JOIN users ON users.id = links.owner_id WHERE "
        )
        # A literal IS NULL: the planner can then use the default domain's partial index.
        self._select = select_ + "links.domain_id IS NULL AND links.key IN "
        self._select_one = self._select + "(?)"
        self._domain_select = select_ + "links.domain_id = ? AND links.key IN "
        self._convert = [_sqlite_converter(c.type) for c in _LINK_COLUMNS]

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        # Never wait on the event loop: a busy database (rare for a reader in WAL mode) fails
        # at once and the read goes through the engine instead.
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA query_only=ON")
        self._conn = conn
        return conn

    def read(self, idents: Sequence[str]) -> dict[str, CachedLink]:
        conn = self._conn or self._open()
        if len(idents) == 1 and ":" not in idents[0]:
            # A redirect's own miss (LinkCache.get reads one key at once): one statement text,
            # no grouping; its bookkeeping was a fifth of the read (bench/scale_bench.py).
            return _links(conn.execute(self._select_one, idents), self._convert)
        found: dict[str, CachedLink] = {}
        for domain_id, keys in by_domain(idents).items():
            for chunk in _chunks(keys):
                marks = "(" + ",".join("?" * len(chunk)) + ")"
                if domain_id is None:
                    rows = conn.execute(self._select + marks, chunk)
                else:
                    rows = conn.execute(self._domain_select + marks, [domain_id, *chunk])
                found.update(_links(rows, self._convert))
        return found

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        self.close()


class PgReader:
    """One asyncpg connection kept for link reads, with the statement prepared once: a read
    is one round trip (through the engine it was three: BEGIN, the query, ROLLBACK)."""

    def __init__(self, url: URL) -> None:
        self._dsn = url.render_as_string(hide_password=False)
        self._conn: asyncpg.Connection | None = None
        self._statement: Any = None
        self._domain_statement: Any = None
        self._lock = asyncio.Lock()  # one query at a time on a connection
        names = ", ".join(f"links.{c.name}" for c in _LINK_COLUMNS)
        select_ = (
            f"SELECT {names}, users.is_active FROM links "  # noqa: S608 (constants)
            "JOIN users ON users.id = links.owner_id WHERE links.key = ANY($1::varchar[]) AND "
        )
        self._select = select_ + "links.domain_id IS NULL"
        self._domain_select = select_ + "links.domain_id = $2"
        # asyncpg returns json columns as text; everything else as SQLAlchemy would.
        self._convert = [orjson.loads if isinstance(c.type, JSON) else None for c in _LINK_COLUMNS]

    async def read(self, idents: Sequence[str]) -> dict[str, CachedLink]:
        found: dict[str, CachedLink] = {}
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._dsn, timeout=2)
                self._statement = await self._conn.prepare(self._select)
                self._domain_statement = await self._conn.prepare(self._domain_select)
            for domain_id, keys in by_domain(idents).items():
                if domain_id is None:
                    rows = await self._statement.fetch(keys)
                else:
                    rows = await self._domain_statement.fetch(keys, domain_id)
                found.update(_links(rows, self._convert))
        return found

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)


def _links(
    rows: Iterable[Sequence[Any]], convert: list[Callable[[Any], Any] | None]
) -> dict[str, CachedLink]:
    found: dict[str, CachedLink] = {}
    converting = [(i, f) for i, f in enumerate(convert) if f is not None]
    for row in rows:
        values = list(row)
        for i, f in converting:
            if values[i] is not None:
                values[i] = f(values[i])
        link = cast(Link, _Row._make(values[:-1]))
        found[link_ident(link.domain_id, link.key)] = CachedLink.of(
            link, owner_active=bool(values[-1])
        )
    return found


def _sqlite_converter(type_: Any) -> Callable[[Any], Any] | None:
    """What SQLAlchemy's result processing does to this column's SQLite value, for the few
    types the links table has that need it (checked by tests/test_cache.py against the ORM)."""
    if isinstance(type_, JSON):
        return orjson.loads
    if isinstance(type_, Boolean):
        return bool
    if isinstance(getattr(type_, "impl", type_), DateTime):
        return _sqlite_datetime
    return None


def _sqlite_datetime(value: str) -> datetime:
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC (see models.UTCDateTime).
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
