"""Applying and inspecting Alembic migrations from code (the CLI, the server, the tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from shortener.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_logging(*, verbose: bool) -> None:
    """Alembic narrates every step at INFO ("Context impl SQLiteImpl.", "Will assume
    non-transactional DDL.", each revision): noise in every command and server start, where a
    migration is routine. Warnings and errors always show; the steps with `shortener -v`."""
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(
    database_url: str, revision: str = "head", on_step: Callable[[], None] | None = None
) -> None:
    """Bring the schema to `revision`, calling `on_step` after each migration applied. Runs its
    own event loop: call it outside one."""
    config = alembic_config(database_url)
    if on_step is not None:
        config.attributes["on_version_apply"] = (lambda **_: on_step(),)
    command.upgrade(config, revision)


def pending_migrations(database_url: str) -> int:
    """How many migrations upgrade() to head would apply (reads the database's revision)."""
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    current = current_revision(database_url)
    return sum(1 for _ in scripts.iterate_revisions("heads", current))


def apply_key_mode(database_url: str, mode: str) -> int:
    """SHORT_URL_MODE's hold on the stored keys (see links/keymode.py); after upgrade()."""
    from shortener.links.keymode import apply_key_mode as apply

    async def run() -> int:
        engine = make_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                return await apply(conn, mode)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None for an empty database). Runs its own loop."""

    async def read() -> str | None:
        engine = make_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())
