"""Alembic owns the schema: `upgrade head` on fresh databases matches the models exactly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.pool import NullPool

from shortener.clicks.partitions import AHEAD_MONTHS, Month, not_a_partition
from shortener.db import make_engine
from shortener.migrate import current_revision, head_revision, upgrade
from shortener.models import metadata


def _diff_and_tables(url: str) -> tuple[list[Any], set[str]]:
    async def run() -> tuple[list[Any], set[str]]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Any) -> tuple[list[Any], set[str]]:
                    opts = {"compare_type": True, "include_name": not_a_partition}
                    context = MigrationContext.configure(sync_conn, opts=opts)
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


def _sqlite(url: str, *statements: str) -> list[list[tuple[Any, ...]]]:
    """Run statements on a SQLite file with foreign keys on (as the app does); their rows."""
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        results = [conn.execute(sql).fetchall() for sql in statements]
        conn.commit()
        return results
    finally:
        conn.close()


USER = (
    "INSERT INTO users (email, password_hash, is_admin, is_active, token_version, created_at) "
    "VALUES ('{email}', 'x', 0, 1, 0, '2026-01-01 00:00:00')"
)
LINK = (
    "INSERT INTO links (key, url, url_md5, key_strategy, owner_id, created_at, updated_at, uses,"
    " redirect_type, is_active, clicks) VALUES ('{key}', 'https://example.com', 'm', 'random',"
    " {owner}, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 302, 1, 0)"
)


# Since workspaces, a link belongs to one (the owner's personal workspace here).
WORKSPACE = (
    "INSERT INTO workspaces (name, slug, personal_user_id, require_two_factor, created_at) "
    "VALUES ('w{owner}', 'w{owner}', {owner}, 0, '2026-01-01 00:00:00')"
)
LINK_IN_WORKSPACE = LINK.replace("owner_id,", "owner_id, workspace_id,").replace(
    " {owner},", " {owner}, (SELECT id FROM workspaces WHERE personal_user_id = {owner}),"
)


def test_sqlite_never_hands_a_deleted_id_out_again(tmp_path) -> None:
    """Finding 1 and 6: without AUTOINCREMENT the highest deleted id was the next one."""
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    upgrade(url)
    _sqlite(
        url,
        USER.format(email="a@example.com"),
        USER.format(email="b@example.com"),
        WORKSPACE.format(owner=2),
        LINK_IN_WORKSPACE.format(key="one", owner=2),
        "DELETE FROM users WHERE id = 2",  # the link goes with it
    )
    _sqlite(
        url,
        USER.format(email="c@example.com"),
        WORKSPACE.format(owner=3),
        LINK_IN_WORKSPACE.format(key="two", owner=3),
    )
    users, links = _sqlite(url, "SELECT id, email FROM users", "SELECT id, key FROM links")
    assert users == [(1, "a@example.com"), (3, "c@example.com")]
    assert links == [(2, "two")]


def test_the_sqlite_rebuild_keeps_every_row(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    upgrade(url, "bc36143aaedd")  # the revision before ids became AUTOINCREMENT
    _sqlite(
        url,
        USER.format(email="a@example.com"),
        USER.format(email="b@example.com"),
        LINK.format(key="kept", owner=2),
        "INSERT INTO clicks (id, link_id, clicked_at, is_bot) VALUES ('c1', 1, "
        "'2026-01-01 00:00:00', 0)",
        "INSERT INTO link_tags (link_id, tag) VALUES (1, 'news')",
    )
    upgrade(url)
    users, links, clicks, tags = _sqlite(
        url,
        "SELECT id, email FROM users",
        "SELECT id, key, owner_id FROM links",
        "SELECT id, link_id FROM clicks",
        "SELECT link_id, tag FROM link_tags",
    )
    assert users == [(1, "a@example.com"), (2, "b@example.com")]
    assert links == [(1, "kept", 2)]
    assert clicks == [("c1", 1)] and tags == [(1, "news")]
    # And ids continue above the highest kept, never below it once deleted.
    _sqlite(url, "DELETE FROM users WHERE id = 2", USER.format(email="c@example.com"))
    (users,) = _sqlite(url, "SELECT id FROM users ORDER BY id")
    assert users == [(1,), (3,)]


def test_bot_clicks_are_split_from_the_counter(tmp_path) -> None:
    """Issue 18, item 3: a link's counter held bots' clicks too; the rollups tell them apart."""
    url = f"sqlite:///{tmp_path / 'bots.db'}"
    upgrade(url, "7d3e1a9c5b42")  # the revision before bot_clicks
    rollup = "INSERT INTO click_rollups (link_id, hour, is_bot, clicks, visitors) VALUES "
    _sqlite(
        url,
        USER.format(email="a@example.com"),
        LINK.format(key="mixed", owner=1).replace(", 0)", ", 7)"),
        LINK.format(key="quiet", owner=1),
        rollup + "(1, 10, 0, 3, 1), (1, 11, 0, 2, 1), (1, 11, 1, 2, 1)",
    )
    upgrade(url)
    (links,) = _sqlite(url, "SELECT key, clicks, bot_clicks FROM links ORDER BY id")
    assert links == [("mixed", 5, 2), ("quiet", 0, 0)]


def test_accounts_made_before_email_verification_count_as_verified(tmp_path) -> None:
    """Issue 16: existing accounts are verified (nothing could verify them before); new ones
    start unverified."""
    url = f"sqlite:///{tmp_path / 'verified.db'}"
    upgrade(url, "7d1e4b2a9c55")  # the revision before users.email_verified
    _sqlite(url, USER.format(email="old@example.com"))
    upgrade(url)
    _sqlite(url, USER.format(email="new@example.com"))
    (users,) = _sqlite(url, "SELECT email, email_verified FROM users ORDER BY id")
    assert users == [("old@example.com", 1), ("new@example.com", 0)]
    # And the rebuild-free column kept AUTOINCREMENT: ids are still never reused.
    (schema,) = _sqlite(url, "SELECT sql FROM sqlite_master WHERE name = 'users'")
    assert "AUTOINCREMENT" in schema[0][0]


def _pg(url: str, *statements: str) -> list[list[tuple[Any, ...]]]:
    """Run statements on a PostgreSQL database in one transaction; their rows."""
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run() -> list[list[tuple[Any, ...]]]:
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                return [[tuple(r) for r in await conn.fetch(sql)] for sql in statements]
        finally:
            await conn.close()

    return asyncio.run(run())


PG_CLICKS = (
    "INSERT INTO clicks (id, link_id, clicked_at, is_bot, country) SELECT 'c' || n, 1, "
    "timestamptz '2026-08-15 12:00:00+00' + (n % 4) * interval '1 month' + n * interval '1 s', "
    "n % 5 = 0, 'FR' FROM generate_series(1, 400) AS n"
)
ALL_CLICKS = "SELECT id, link_id, clicked_at, is_bot, country FROM clicks ORDER BY id"


def test_postgres_clicks_become_partitioned_by_month_and_back(fresh_postgres_url) -> None:
    """Issue 19, item 4: the existing rows land in their months' partitions, unchanged."""
    from alembic import command

    from shortener.migrate import alembic_config

    url = fresh_postgres_url
    upgrade(url, "5a8c1e3f7b20")  # the revision before partitioning
    _pg(url, USER.format(email="a@example.com").replace("0, 1, 0,", "false, true, 0,"))
    _pg(url, LINK.format(key="k", owner=1).replace("302, 1, 0)", "302, true, 0)"), PG_CLICKS)
    (before,) = _pg(url, ALL_CLICKS)
    upgrade(url)
    (after, parts, kind, key) = _pg(
        url,
        ALL_CLICKS,
        "SELECT tableoid::regclass::text, count(*) FROM clicks GROUP BY 1 ORDER BY 1",
        "SELECT relkind::text FROM pg_class WHERE relname = 'clicks'",
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_clicks'",
    )
    assert len(before) == 400 and after == before
    assert parts == [(f"clicks_2026_{m:02d}", 100) for m in (8, 9, 10, 11)]
    assert kind == [("p",)] and key == [("PRIMARY KEY (id, clicked_at)",)]
    # Months ahead exist, and the link's clicks still go with it.
    last = Month.of(datetime.now(UTC)).plus(AHEAD_MONTHS).name
    assert _pg(url, f"SELECT to_regclass('{last}')::text") == [[(last,)]]
    command.downgrade(alembic_config(url), "5a8c1e3f7b20")
    (back, kind, key) = _pg(
        url,
        ALL_CLICKS,
        "SELECT relkind::text FROM pg_class WHERE relname = 'clicks'",
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_clicks'",
    )
    assert back == before and kind == [("r",)] and key == [("PRIMARY KEY (id)",)]
    upgrade(url)
    (deleted, left) = _pg(url, "DELETE FROM links RETURNING id", "SELECT count(*) FROM clicks")
    assert deleted == [(1,)] and left == [(0,)]  # ON DELETE CASCADE from the partitions too
