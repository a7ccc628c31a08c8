"""Alembic owns the schema: `upgrade head` on fresh databases matches the models exactly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.pool import NullPool

from shortener.db import make_engine
from shortener.migrate import current_revision, head_revision, upgrade
from shortener.models import metadata


def _diff_and_tables(url: str) -> tuple[list[Any], set[str]]:
    async def run() -> tuple[list[Any], set[str]]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Any) -> tuple[list[Any], set[str]]:
                    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                    diff = compare_metadata(context, metadata)
                    return diff, set(inspect(sync_conn).get_table_names())

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _fresh_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_head_matches_the_models(kind, tmp_path, request) -> None:
    url = _fresh_url(kind, tmp_path, request)
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision(url)
    diff, tables = _diff_and_tables(url)
    assert diff == [], f"the models and the migrations disagree: {diff}"
    assert {t.name for t in metadata.sorted_tables} <= tables


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_is_idempotent(kind, tmp_path, request) -> None:
    url = _fresh_url(kind, tmp_path, request)
    upgrade(url)
    upgrade(url)
    assert current_revision(url) == head_revision(url)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_downgrade_to_base_then_upgrade_again(kind, tmp_path, request) -> None:
    from alembic import command

    from shortener.migrate import alembic_config

    url = _fresh_url(kind, tmp_path, request)
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    _, tables = _diff_and_tables(url)
    assert tables <= {"alembic_version"}
    upgrade(url)
    diff, _ = _diff_and_tables(url)
    assert diff == []
