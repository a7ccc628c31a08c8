"""A workspace keeps an owner when an administrator deletes an owner's account at the same
moment as the other owner leaves, or is deleted too (both storage modes)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from shortener.main import ShortenerApp
from shortener.models import Membership, Workspace
from tests.factories import make_user
from tests.workspaces.helpers import join, me, new_workspace

# Requests at once decide nothing every time: a few workspaces each, so that a lost race
# shows up (one round was enough to lose one, on PostgreSQL, before the fix).
ROUNDS = 3


async def owners_of(app: ShortenerApp, slug: str) -> int:
    async with app.runtime.sessionmaker() as session:
        found = await session.execute(
            select(func.count())
            .select_from(Membership)
            .join(Workspace, Workspace.id == Membership.workspace_id)  # type: ignore[arg-type]
            .where(Workspace.slug == slug, Membership.role == "owner")
        )
        return int(found.scalar_one())


async def two_owners(client: httpx.AsyncClient) -> tuple[str, dict[str, str], int, int]:
    """A new shared workspace with two owners: its slug, the second's headers, both ids."""
    first = await make_user(client)
    slug = await new_workspace(client, first)
    second = await join(client, slug, first, "owner")
    return slug, second, await me(client, first), await me(client, second)


@pytest.mark.parametrize("other", ["leaves", "is_deleted"])
async def test_an_owner_deleted_as_the_other_goes_leaves_one(
    client: httpx.AsyncClient, app: ShortenerApp, other: str
) -> None:
    """An administrator deletes one owner's account while the other owner leaves, or while
    the administrator deletes the other's account too: one of the two is refused (409)."""
    admin = await make_user(client, admin=True)
    for _ in range(ROUNDS):
        slug, second, first_id, second_id = await two_owners(client)
        goes = (
            client.delete(f"/api/workspaces/{slug}/members/{second_id}", headers=second)
            if other == "leaves"
            else client.delete(f"/api/admin/users/{second_id}", headers=admin)
        )
        answers = await asyncio.gather(
            client.delete(f"/api/admin/users/{first_id}", headers=admin), goes
        )
        # Whichever came second found the other gone and refused, naming the last owner.
        assert sorted(r.status_code for r in answers) == [204, 409], [r.text for r in answers]
        refused = next(r for r in answers if r.status_code == 409)
        assert "owner" in refused.json()["detail"]
        assert await owners_of(app, slug) == 1
