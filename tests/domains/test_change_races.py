"""A domain changed as it is deleted: the change comes first or finds no domain (404),
never a 500 (both storage modes)."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import make_user

# Several rounds: one decides nothing every time.
ROUNDS = 4


async def test_a_domain_changed_as_it_is_deleted(client: httpx.AsyncClient) -> None:
    admin = await make_user(client, admin=True)
    for round_ in range(ROUNDS):
        made = await client.post(
            "/api/domains",
            json={"hostname": f"changed{round_}.example.org", "verified": True},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        path = f"/api/domains/{made.json()['id']}"
        changed, deleted = await asyncio.gather(
            client.patch(path, json={"root_url": "https://example.com/"}, headers=admin),
            client.delete(path, headers=admin),
        )
        assert deleted.status_code == 204, deleted.text
        assert changed.status_code in (200, 404), changed.text
