"""A domain changed as it is deleted, or deleted as its links' keys are taken where they
would move: one comes first and the other answers 404 or 409, never a 500 (both storage
modes)."""

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


async def test_links_moved_off_a_deleted_domain_as_their_key_is_taken(
    client: httpx.AsyncClient,
) -> None:
    """DELETE ?force=true moves the domain's links to the default domain while a link with
    one of their keys is made there: one of the two is refused (409), never a 500."""
    admin = await make_user(client, admin=True)
    for round_ in range(ROUNDS):
        host, key = f"moved{round_}.example.org", f"moved-{round_}"
        made = await client.post(
            "/api/domains", json={"hostname": host, "verified": True}, headers=admin
        )
        assert made.status_code == 201, made.text
        body = {"url": "https://example.com/", "alias": key}
        on_it = await client.post("/api/links", json={**body, "domain": host}, headers=admin)
        assert on_it.status_code == 201, on_it.text
        deleted, created = await asyncio.gather(
            client.delete(f"/api/domains/{made.json()['id']}?force=true", headers=admin),
            client.post("/api/links", json=body, headers=admin),
        )
        assert sorted((deleted.status_code, created.status_code)) == [204, 409] or (
            deleted.status_code == 409 and created.status_code == 201
        ), (deleted.text, created.text)
        if deleted.status_code == 409:
            assert key in deleted.json()["detail"]
