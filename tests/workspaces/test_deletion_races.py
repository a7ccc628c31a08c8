"""A workspace deleted while rows are being made in it or it is being changed: each comes
first (and goes with the workspace) or finds it gone (404), never a 500 nor a refusal that
names the wrong cause (both storage modes). Imports: tests/links/test_creation_races.py."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.factories import make_user
from tests.workspaces.helpers import invite, join, me, new_workspace

# Several rounds: one decides nothing every time.
ROUNDS = 5


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    # A webhook to a loopback address (never called here) needs no DNS.
    return make_settings(allow_private_webhooks=True)


async def test_a_workspace_deleted_as_rows_are_made_in_it(client: httpx.AsyncClient) -> None:
    owner = await make_user(client)
    for round_ in range(ROUNDS):
        slug = await new_workspace(client, owner)
        acting = {**owner, "X-Workspace": slug}
        deleted, *answers = await asyncio.gather(
            client.delete(f"/api/workspaces/{slug}", headers=owner),
            client.post(
                f"/api/workspaces/{slug}/invitations", json={"role": "editor"}, headers=owner
            ),
            client.post("/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=acting),
            client.post(
                "/api/domains", json={"hostname": f"gone{round_}.example.org"}, headers=acting
            ),
            client.post(
                "/api/webhooks",
                json={"url": "http://127.0.0.1:9/hook", "events": ["link.created"]},
                headers=acting,
            ),
            client.patch(f"/api/workspaces/{slug}", json={"name": "Renamed"}, headers=owner),
            client.post(
                "/api/links",
                json={"url": "https://example.com/", "alias": f"in-{round_}"},
                headers=acting,
            ),
        )
        assert deleted.status_code == 204, deleted.text
        for answer in answers:
            assert answer.status_code in (200, 201, 404), answer.text
            if answer.status_code == 404:
                assert answer.json()["detail"] == "workspace not found"
        # The link came first and went with the workspace, or was never made: either way
        # every worker forgets it (never "the alias is already taken": it was not).
        assert (await client.get(f"/in-{round_}")).status_code == 404


@pytest.mark.parametrize("goes", ["workspace", "account"])
async def test_an_invitation_accepted_as_its_workspace_or_the_account_goes(
    client: httpx.AsyncClient, goes: str
) -> None:
    admin, owner = await make_user(client, admin=True), await make_user(client)
    for _ in range(ROUNDS):
        slug = await new_workspace(client, owner)
        token = (await invite(client, slug, owner, "editor")).json()["token"]
        newcomer = await make_user(client)
        deleting = (
            client.delete(f"/api/workspaces/{slug}", headers=owner)
            if goes == "workspace"
            else client.delete(f"/api/admin/users/{await me(client, newcomer)}", headers=admin)
        )
        accepted, deleted = await asyncio.gather(
            client.post(f"/api/invitations/{token}/accept", headers=newcomer), deleting
        )
        # Joined, then the workspace or the account went (with the membership); or the
        # invitation went with the workspace first (404), or the account went first (401).
        # Never a 500 on either side, nor "you are already a member", which it never was.
        assert deleted.status_code == 204, deleted.text
        assert accepted.status_code in (200, 404 if goes == "workspace" else 401), accepted.text


async def test_an_account_deleted_as_it_makes_rows_in_a_shared_workspace(
    client: httpx.AsyncClient,
) -> None:
    admin, owner = await make_user(client, admin=True), await make_user(client)
    slug = await new_workspace(client, owner)
    for round_ in range(ROUNDS):
        member = await join(client, slug, owner, "admin")
        acting = {**member, "X-Workspace": slug}
        deleted, *answers = await asyncio.gather(
            client.delete(f"/api/admin/users/{await me(client, member)}", headers=admin),
            client.post(
                "/api/links",
                json={"url": "https://example.com/", "alias": f"made-{round_}"},
                headers=acting,
            ),
            client.post("/api/links", json={"url": "https://example.com/"}, headers=acting),
            client.post("/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=acting),
            client.post(
                "/api/webhooks",
                json={"url": "http://127.0.0.1:9/hook", "events": ["link.created"]},
                headers=acting,
            ),
        )
        assert deleted.status_code == 204, deleted.text
        # Each came first or found the account gone (401): never a 500, nor "the alias is
        # already taken" or "could not find a free key", which it was not.
        assert all(r.status_code in (201, 401) for r in answers), [r.text for r in answers]
        # A link that came first stays in the workspace, handed over to its owner.
        for made in (r for r in answers[:2] if r.status_code == 201):
            kept = await client.get(
                f"/api/links/{made.json()['key']}", headers={**owner, "X-Workspace": slug}
            )
            assert kept.status_code == 200, kept.text
