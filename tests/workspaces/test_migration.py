"""The workspaces revision on a database with rows in every table it changes: each user gets
a personal workspace they own, and their links, domains, API keys and webhooks move there
(SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from shortener.db import make_engine
from shortener.migrate import alembic_config, upgrade

BEFORE = "3c7d9a1e5f60"  # the revision before workspaces
AT = "'2026-01-01 00:00:00'"

SEED = [
    f"INSERT INTO users (email, password_hash, is_admin, is_active, token_version, created_at,"
    f" email_verified, totp_enabled) VALUES (:email, 'x', false, true, 0, {AT}, true, false)",
]


def _run(url: str, statements: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[Any, ...]]]:
    async def run() -> list[list[tuple[Any, ...]]]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                out = []
                for sql, params in statements:
                    result = await conn.execute(text(sql), params)
                    out.append([tuple(r) for r in result.all()] if result.returns_rows else [])
                return out
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _link(key: str, owner: int) -> tuple[str, dict[str, Any]]:
    return (
        "INSERT INTO links (key, url, url_md5, key_strategy, owner_id, created_at, updated_at,"
        " uses, redirect_type, is_active, clicks, bot_clicks, forward_query, forward_path)"
        f" VALUES (:key, 'https://example.com', 'm', 'random', :owner, {AT}, {AT}, 0, 302, true,"
        " 0, 0, false, false)",
        {"key": key, "owner": owner},
    )


def _domain(host: str, owner: int | None) -> tuple[str, dict[str, Any]]:
    return (
        "INSERT INTO domains (hostname, owner_id, shared, verified, verification_token,"
        f" created_at) VALUES (:host, :owner, :shared, true, :host, {AT})",
        {"host": host, "owner": owner, "shared": owner is None},
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_existing_rows_move_to_their_owners_personal_workspaces(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'ws.db'}"
    else:
        url = str(request.getfixturevalue("fresh_postgres_url"))
    upgrade(url, BEFORE)
    users = ["ann@example.com", "ann@example.org", "b@example.com"]
    _run(
        url,
        [(SEED[0], {"email": e}) for e in users]
        + [_link("one", 1), _link("two", 1), _link("three", 2)]
        + [_domain("ann.example", 1), _domain("shared.example", None)]
        + [
            (
                "INSERT INTO api_keys (user_id, name, key_hash, prefix, scopes, created_at)"
                f" VALUES (2, 'k', 'h', 'sk_', 'links:read', {AT})",
                {},
            ),
            (
                "INSERT INTO webhooks (user_id, url, events, secret, created_at)"
                f" VALUES (3, 'https://hooks.example', 'link.created', 's', {AT})",
                {},
            ),
        ],
    )
    upgrade(url)
    workspaces, members, links, domains, keys, hooks = _run(
        url,
        [
            ("SELECT id, slug, personal_user_id, name FROM workspaces ORDER BY id", {}),
            ("SELECT workspace_id, user_id, role FROM memberships ORDER BY id", {}),
            ("SELECT key, workspace_id FROM links ORDER BY id", {}),
            ("SELECT hostname, workspace_id FROM domains ORDER BY id", {}),
            ("SELECT user_id, workspace_id FROM api_keys", {}),
            ("SELECT user_id, workspace_id FROM webhooks", {}),
        ],
    )
    assert [(slug, user, name) for _, slug, user, name in workspaces] == [
        ("ann", 1, "ann@example.com"),
        ("ann-2", 2, "ann@example.org"),
        ("b-ws", 3, "b@example.com"),
    ]
    personal = {user: ws for ws, _, user, _ in workspaces}
    assert members == [(personal[u], u, "owner") for u in (1, 2, 3)]
    assert links == [("one", personal[1]), ("two", personal[1]), ("three", personal[2])]
    assert domains == [("ann.example", personal[1]), ("shared.example", None)]
    assert keys == [(2, personal[2])] and hooks == [(3, personal[3])]
    # And back down, with the rows kept.
    command.downgrade(alembic_config(url), BEFORE)
    (back,) = _run(url, [("SELECT key, owner_id FROM links ORDER BY id", {})])
    assert back == [("one", 1), ("two", 1), ("three", 2)]
