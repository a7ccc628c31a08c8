"""Changes to one link at the same moment take turns: the second reads what the first left
(both storage modes)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from shortener.main import ShortenerApp
from shortener.models import AuditEvent
from tests.factories import make_link, make_user, token_for
from tests.web.test_links_list import link_id
from tests.web.test_pages import csrf_of, register

# Several rounds: one decides nothing every time (most lost the race on PostgreSQL before
# the fix).
ROUNDS = 4


async def test_a_link_changed_as_it_is_deleted(client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    for round_ in range(ROUNDS):
        key = f"changed-{round_}"
        await make_link(client, user, alias=key)
        changed, deleted = await asyncio.gather(
            client.patch(f"/api/links/{key}", json={"title": "New", "tags": ["t"]}, headers=user),
            client.delete(f"/api/links/{key}", headers=user),
        )
        # Changed, then deleted; or deleted, and then not found: never a 500.
        assert deleted.status_code == 204, deleted.text
        assert changed.status_code in (200, 404), changed.text
        assert (await client.get(f"/api/links/{key}", headers=user)).status_code == 404


async def test_a_link_deleted_twice_at_once_is_deleted_once(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    user = await make_user(client)
    for round_ in range(ROUNDS):
        key = f"twice-{round_}"
        await make_link(client, user, alias=key)
        answers = await asyncio.gather(
            client.delete(f"/api/links/{key}", headers=user),
            client.delete(f"/api/links/{key}", headers=user),
        )
        assert sorted(r.status_code for r in answers) == [204, 404], [r.text for r in answers]
    async with app.runtime.sessionmaker() as session:
        audited = await session.execute(
            select(func.count()).where(AuditEvent.action == "link.deleted")
        )
    # Once each: the deletion is announced (webhooks) and audited by the one that made it.
    assert audited.scalar_one() == ROUNDS


async def test_a_link_deleted_as_a_bulk_delete_takes_it(client: httpx.AsyncClient) -> None:
    """The dashboard's bulk delete, and DELETE /api/links/{key} of one of its links."""
    email = await register(client)  # the client now carries its session cookie
    user = {"Authorization": f"Bearer {await token_for(client, email)}"}
    for round_ in range(ROUNDS):
        keys = [f"bulk-{round_}-{i}" for i in range(3)]
        ids = [
            str(await link_id(client, (await make_link(client, user, alias=k))["key"]))
            for k in keys
        ]
        token = csrf_of(await client.get("/dashboard"))
        form = {"csrf_token": token, "action": "delete", "confirmed": "yes", "ids": ids}
        bulk, single = await asyncio.gather(
            client.post("/dashboard/bulk", data=form),
            client.delete(f"/api/links/{keys[0]}", headers=user),
        )
        assert bulk.status_code == 303, bulk.text
        shown = (await client.get(bulk.headers["location"])).text
        # Each link deleted by one of the two: the bulk counts only those it deleted.
        if single.status_code == 204:
            assert "Deleted 2 links." in shown
        else:
            assert single.status_code == 404, single.text
            assert "Deleted 3 links." in shown
