"""The async engine and the request-scoped session dependency.

The session dependency owns the transaction: it commits when the route returns and rolls
back when it raises; services only add and flush. Work that must follow a successful
commit (cache invalidation, webhooks) is registered with `after_commit`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

AfterCommit = Callable[[], Awaitable[None]]

# Execution options of a session that only reads (see _tune_sqlite); other databases ignore it.
READ_ONLY: dict[str, Any] = {"sqlite_read_only": True}


def async_url(url: str) -> str:
    """Map the plain URLs people write (sqlite://, postgresql://) onto async drivers."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}.get(
        parsed.drivername, parsed.drivername
    )
    if parsed.drivername in ("postgres",):
        driver = "postgresql+asyncpg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = async_url(url)
    # Statement parameters hold emails, hashes and webhook secrets: keep them out of error
    # messages, and so out of every logged traceback.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine.sync_engine)
        return engine
    if "poolclass" not in kwargs:
        # Only a queue pool takes sizes (NullPool, used by migrate.current_revision, refuses them).
        kwargs = {"pool_size": 10, "max_overflow": 20, **kwargs}
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def make_read_engine(primary: AsyncEngine, read_url: str | None) -> AsyncEngine:
    """The engine statistics and exports read from: DATABASE_READ_URL's, or when that is
    unset the primary itself (the same pool, not a second one)."""
    return primary if read_url is None else make_engine(read_url)


def make_sync_engine(url: str) -> Engine:
    """A plain sqlite3 engine, for the click writer's thread (SQLite only)."""
    parsed = make_url(url).set(drivername="sqlite")
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    # WAL lets redirects read while the flusher writes; busy_timeout makes writers wait for each
    # other instead of failing; foreign keys are off by default in SQLite.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        # Transactions are begun by us (below), not by the driver's implicit BEGIN.
        dbapi_conn.isolation_level = None

    # BEGIN IMMEDIATE takes the write lock up front. With the driver's deferred BEGIN, a
    # transaction that read before another connection committed (the click writer, say) and
    # then writes fails at once with SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot wait out:
    # a read-then-write request (PATCH, the dashboard's edit) answered 503 now and then.
    # Plain reads (a redirect's link look-up) opt out with READ_ONLY: they never write, so
    # they need no lock and need not queue behind the click writer's batch.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("sqlite_read_only", False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def is_transient(exc: BaseException) -> bool:
    """A failure that retrying later can cure: the database is unreachable, locked or busy."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | OSError
        | TimeoutError
        | ConnectionError,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


async def settle(session: AsyncSession) -> None:
    """End the transaction that only found out who is calling, before the route's own work.

    On SQLite every transaction that may write begins IMMEDIATE (above), so the one that read
    the caller's session row would otherwise hold the write lock through everything the route
    does, slow work without the database included (hashing a link's password: ~100 ms each).
    What the check wrote (a session's last_used_at) is kept; nothing else has been done yet.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The Runtime's (shortener.runtime imports this module, so it is not imported back here).
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.runtime.sessionmaker
    async with sessionmaker() as session:
        # The caller's address, for the audit log's /24 or /48 (shortener/audit/service.py):
        # the TCP peer, which uvicorn has already resolved through trusted proxies.
        session.info["client_ip"] = request.client.host if request.client else None
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await commit(session)


# scope="function": commit before the response is sent, so a failed commit is an error
# answer, not a lie, and after-commit work (cache invalidation) is done when the client hears.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@contextlib.asynccontextmanager
async def read_errors(separate: bool) -> AsyncIterator[None]:
    """The read database being away, when it is one of its own (DATABASE_READ_URL), is a 503
    that names it (ReadDatabaseUnavailable); not a silent fall-back to the primary, since the
    replica exists to keep that load off the primary. Without one: the primary's own errors."""
    from shortener.errors import ReadDatabaseUnavailable

    try:
        yield
    except Exception as exc:
        if separate and is_transient(exc):
            raise ReadDatabaseUnavailable() from exc
        raise


async def get_read_session(request: Request, primary: SessionDep) -> AsyncIterator[AsyncSession]:
    """A session on the read database (DATABASE_READ_URL) for statistics and exports; without
    one, the request's own session. It never writes and is never committed."""
    runtime = request.app.runtime
    if not runtime.separate_reads:
        yield primary
        return
    read_sessionmaker: async_sessionmaker[AsyncSession] = runtime.read_sessionmaker
    # Closing the session rolls back: nothing is kept.
    async with read_sessionmaker() as session, read_errors(separate=True):
        # READ_ONLY: on SQLite a plain deferred BEGIN (no write lock); elsewhere ignored.
        await session.connection(execution_options=READ_ONLY)
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
