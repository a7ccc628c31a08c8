"""An API key revoked twice at the same moment is revoked (and audited) once."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from shortener.main import ShortenerApp
from shortener.models import AuditEvent
from tests.factories import make_user

# Several rounds: one decides nothing every time.
ROUNDS = 4


async def test_a_key_revoked_twice_at_once_is_revoked_once(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    user = await make_user(client)
    for _ in range(ROUNDS):
        made = await client.post(
            "/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=user
        )
        assert made.status_code == 201, made.text
        path = f"/api/keys/{made.json()['id']}"
        answers = await asyncio.gather(
            client.delete(path, headers=user), client.delete(path, headers=user)
        )
        assert sorted(r.status_code for r in answers) == [204, 404], [r.text for r in answers]
    async with app.runtime.sessionmaker() as session:
        audited = await session.execute(
            select(func.count()).where(AuditEvent.action == "apikey.revoked")
        )
    assert audited.scalar_one() == ROUNDS
