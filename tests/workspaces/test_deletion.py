"""Deleting a shared workspace, and deleting an account that is a member of shared ones
(both storage modes)."""

from __future__ import annotations

import httpx

from tests.factories import make_user
from tests.workspaces.helpers import make_team, me


async def _link(client: httpx.AsyncClient, headers: dict[str, str], alias: str) -> None:
    body = {"url": f"https://example.com/{alias}", "alias": alias}
    made = await client.post("/api/links", json=body, headers=headers)
    assert made.status_code == 201, made.text


async def test_an_owner_deletes_a_shared_workspace_with_everything_in_it(client) -> None:
    team = await make_team(client)
    await _link(client, team.acting("editor"), "team-gone")
    assert (await client.get("/team-gone")).status_code == 302  # cached by the redirect now
    for role in ("admin", "editor", "viewer"):
        refused = await client.delete(f"/api/workspaces/{team.slug}", headers=team.acting(role))
        assert refused.status_code == 403 and "only an owner" in refused.json()["detail"], role
    outsider = await client.delete(f"/api/workspaces/{team.slug}", headers=team.outsider)
    assert outsider.status_code == 404
    gone = await client.delete(f"/api/workspaces/{team.slug}", headers=team.members["owner"])
    assert gone.status_code == 204
    assert (await client.get("/team-gone")).status_code == 404  # at once, not after a TTL
    listed = await client.get("/api/links", headers=team.acting("owner"))
    assert listed.status_code == 404  # the workspace is no more
    slugs = [
        w["slug"]
        for w in (await client.get("/api/workspaces", headers=team.members["editor"])).json()
    ]
    assert team.slug not in slugs
    # A personal workspace goes only with its account.
    (personal,) = (await client.get("/api/workspaces", headers=team.outsider)).json()
    kept = await client.delete(f"/api/workspaces/{personal['slug']}", headers=team.outsider)
    assert kept.status_code == 409 and "personal" in kept.json()["detail"]


async def test_deleting_an_account_keeps_what_it_made_in_shared_workspaces(client) -> None:
    admin = await make_user(client, admin=True)
    team = await make_team(client)
    editor = team.members["editor"]
    await _link(client, team.acting("editor"), "made-by-editor")
    await _link(client, editor, "editors-own")
    editor_id, owner_id = await me(client, editor), await me(client, team.members["owner"])
    assert (await client.delete(f"/api/admin/users/{editor_id}", headers=admin)).status_code == 204
    # The team keeps the link, now the owner's; the account's own workspace went with it.
    assert (await client.get("/made-by-editor")).status_code == 302
    assert (await client.get("/editors-own")).status_code == 404
    listed = await client.get("/api/links", headers=team.acting("owner"))
    assert "made-by-editor" in {link["key"] for link in listed.json()["items"]}
    # The only owner of a shared workspace is not deleted: it would be left without one.
    refused = await client.delete(f"/api/admin/users/{owner_id}", headers=admin)
    assert refused.status_code == 409 and team.slug in refused.json()["detail"]
    assert (await client.get("/api/users/me", headers=team.members["owner"])).status_code == 200
