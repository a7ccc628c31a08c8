"""Which database a command uses, said in one line, and no new SQLite file made by mistake;
a DATABASE_URL that is not one, or a database that does not answer, said in one line too.

The default DATABASE_URL (sqlite:///./shortener.db) is relative to the current directory, so
`shortener import` run from another folder used to make, migrate and fill an empty database
there, then say the account did not exist. Only `serve` and `migrate` set a database up; any
other command refuses a SQLite file that does not exist yet, before anything touches the disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

# The commands whose job includes creating the schema (and so the SQLite file).
CREATES_DATABASE = frozenset({"serve", "migrate"})
# The backends API.md promises (postgres:// is how Heroku and others spell postgresql://).
BACKENDS = ("sqlite", "postgresql", "postgres")


def unusable_url(database_url: str, name: str = "DATABASE_URL") -> str | None:
    """Why DATABASE_URL cannot be used at all (not a URL, not SQLite or PostgreSQL), or None.
    The URL is not repeated: it may hold a password."""
    try:
        backend = make_url(database_url).get_backend_name()
    except ArgumentError:
        return (
            f"{name} is not a database URL (e.g. sqlite:///./shortener.db or "
            "postgresql://user:password@host/name)"
        )
    if backend not in BACKENDS:
        return f"{name} names {backend}: only SQLite and PostgreSQL are supported"
    return None


def unanswered(database_url: str, what: str = "the database") -> str | None:
    """Why the database cannot be used (it does not answer, refuses us), or None when it
    answers: asked once before a command starts, so that a database that is down is one line
    rather than a traceback from wherever the command first touched it."""
    from shortener.db import make_engine, make_sync_engine

    async def probe() -> None:
        engine = make_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    def probe_sqlite() -> None:
        # Plain sqlite3: aiosqlite's thread, answering a failed connect after asyncio.run
        # has closed the loop, printed a traceback of its own under load.
        engine = make_sync_engine(database_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    try:
        if make_url(database_url).get_backend_name() == "sqlite":
            probe_sqlite()
        else:
            asyncio.run(probe())
    except Exception as exc:  # whatever the driver raises, the command cannot go on
        return f"{what} does not answer ({describe(database_url)}): {first_line(exc)}"
    return None


def first_line(exc: BaseException) -> str:
    """An exception as one line: SQLAlchemy's add the statement and a link on lines of their
    own."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__


def sqlite_file(url: URL) -> Path | None:
    """The absolute path of a SQLite database file, None for one held in memory."""
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # sqlite:///file:path?uri=true
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database).expanduser().resolve()


def describe(database_url: str) -> str:
    """The database for people: a SQLite file's absolute path, a server's URL without password."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        return f"SQLite {path}" if path is not None else "SQLite in memory"
    # URL.set(password=None) keeps the password (None means unchanged there).
    return url._replace(password=None).render_as_string(hide_password=False)


def missing_database(database_url: str, command: str) -> str | None:
    """Why `command` must not run against this database (a SQLite file that does not exist and
    that the command would create empty), or None when it may."""
    url = make_url(database_url)
    if command in CREATES_DATABASE or url.get_backend_name() != "sqlite":
        return None
    path = sqlite_file(url)
    if path is None or path.exists():
        return None
    return (
        f"no database at {path}, and `shortener {command}` does not create one. "
        "Run the command from the folder that holds your shortener.db, set DATABASE_URL to "
        f"its path (DATABASE_URL=sqlite:////absolute/path/shortener.db), or create this one "
        "with `shortener migrate`."
    )
