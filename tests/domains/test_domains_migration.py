"""The domains migration keeps every link (and its clicks) on the default domain."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from shortener.db import make_engine
from shortener.migrate import upgrade
from tests.test_migrations import LINK, LINK_IN_WORKSPACE, USER, _fresh_url

BEFORE_DOMAINS = "388ea56aee12"


def _run(url: str, *statements: str) -> list[list[Any]]:
    async def run() -> list[list[Any]]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                results = []
                for sql in statements:
                    result = await conn.execute(text(sql))
                    results.append(list(result) if result.returns_rows else [])
                return results
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _bool(kind: str, sql: str) -> str:
    # The fixtures' SQL writes booleans as 0/1, which PostgreSQL does not take.
    return sql.replace(", 0, 1, 0,", ", false, true, 0,").replace(", 302, 1, 0)", ", 302, true, 0)")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_keeps_links_and_clicks_on_the_default_domain(kind, tmp_path, request) -> None:
    url = _fresh_url(kind, tmp_path, request)
    upgrade(url, BEFORE_DOMAINS)
    _run(
        url,
        _bool(kind, USER.format(email="a@example.com")),
        _bool(kind, LINK.format(key="one", owner=1)),
        _bool(kind, LINK.format(key="two", owner=1)),
        _bool(kind, LINK.format(key="three", owner=1)),
        "INSERT INTO clicks (id, link_id, clicked_at, is_bot) VALUES ('c1', 2, "
        "'2026-01-01 00:00:00', false)",
        "DELETE FROM links WHERE key = 'three'",
    )
    upgrade(url)
    links, clicks = _run(
        url,
        "SELECT id, key, domain_id FROM links ORDER BY id",
        "SELECT id, link_id FROM clicks",
    )
    assert links == [(1, "one", None), (2, "two", None)]
    assert clicks == [("c1", 2)]
    # Keys stay unique on the default domain, and a domain may reuse them.
    # (At head a link also names its workspace: the user's personal one, made by a later revision.)
    with pytest.raises(IntegrityError):
        _run(url, _bool(kind, LINK_IN_WORKSPACE.format(key="one", owner=1)))
    _run(
        url,
        "INSERT INTO domains (hostname, shared, verified, verification_token, created_at) "
        "VALUES ('go.example.test', false, true, 't', '2026-01-01 00:00:00')",
    )
    domain_link = (
        _bool(kind, LINK_IN_WORKSPACE.format(key="one", owner=1))
        .replace("(key, url,", "(domain_id, key, url,")
        .replace("VALUES ('one'", "VALUES (1, 'one'")
    )
    _run(url, domain_link)
    with pytest.raises(IntegrityError):
        _run(url, domain_link)
    (ids,) = _run(url, "SELECT id FROM links WHERE domain_id = 1")
    # The deleted link's id (3) is never handed out again, the table rebuild notwithstanding
    # (PostgreSQL's sequence also spent ids on the refused inserts).
    assert len(ids) == 1 and ids[0][0] > 3
