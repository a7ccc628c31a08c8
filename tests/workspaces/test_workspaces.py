"""Workspaces, members and invitations through the API (both storage modes)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from shortener.errors import NotFound
from shortener.main import ShortenerApp
from shortener.models import AuditEvent, Invitation, User, Workspace, utcnow
from shortener.workspaces import members
from tests.factories import make_link, make_user
from tests.workspaces.helpers import invite, make_team, me, new_slug


async def test_every_account_has_a_personal_workspace(client: httpx.AsyncClient) -> None:
    email = f"Ann.Lee+{new_slug()}@example.com"
    headers = await make_user(client, email=email)
    listed = await client.get("/api/workspaces", headers=headers)
    assert listed.status_code == 200
    (personal,) = listed.json()
    assert personal["personal"] is True and personal["role"] == "owner"
    assert personal["slug"] == email.split("@")[0].lower().replace(".", "-").replace("+", "-")
    # The same local part elsewhere gets a slug of its own.
    other = await make_user(client, email=email.replace("example.com", "example.org"))
    (theirs,) = (await client.get("/api/workspaces", headers=other)).json()
    assert theirs["slug"] == personal["slug"] + "-2"


async def test_create_list_and_refuse_taken_or_bad_slugs(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    slug = new_slug()
    made = await client.post("/api/workspaces", json={"name": "Ops", "slug": slug}, headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert {k: body[k] for k in ("name", "slug", "role", "personal")} == {
        "name": "Ops", "slug": slug, "role": "owner", "personal": False,
    }  # fmt: skip
    assert set(body) >= {"id", "name", "slug", "role", "personal", "created_at"}
    again = await client.post("/api/workspaces", json={"name": "X", "slug": slug}, headers=headers)
    assert again.status_code == 409 and slug in again.json()["detail"]
    for bad in ("A-B", "ab", "-abc", "abc-", "a b c", "x" * 41):
        r = await client.post("/api/workspaces", json={"name": "X", "slug": bad}, headers=headers)
        assert r.status_code == 422, bad
    slugs = [w["slug"] for w in (await client.get("/api/workspaces", headers=headers)).json()]
    assert slugs[1:] == [slug]  # the personal workspace first


async def test_members_roles_and_the_last_owner(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    owner, admin = team.members["owner"], team.members["admin"]
    listed = await client.get(f"/api/workspaces/{team.slug}/members", headers=admin)
    assert listed.status_code == 200
    assert [m["role"] for m in listed.json()] == ["owner", "admin", "editor", "viewer"]
    assert set(listed.json()[0]) == {"user_id", "email", "role", "joined_at"}
    # Not a member: the workspace does not exist for them.
    hidden = await client.get(f"/api/workspaces/{team.slug}/members", headers=team.outsider)
    assert hidden.status_code == 404 and hidden.json()["detail"] == "workspace not found"

    owner_id, editor_id = await me(client, owner), await me(client, team.members["editor"])
    path = f"/api/workspaces/{team.slug}/members"
    # An admin manages members, not owners.
    promoted = await client.patch(f"{path}/{editor_id}", json={"role": "admin"}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert (
        await client.patch(f"{path}/{owner_id}", json={"role": "viewer"}, headers=admin)
    ).status_code == 403
    assert (
        await client.patch(f"{path}/{editor_id}", json={"role": "owner"}, headers=admin)
    ).status_code == 403
    assert (await client.delete(f"{path}/{owner_id}", headers=admin)).status_code == 403
    # Editors and viewers manage nobody.
    viewer = team.members["viewer"]
    assert (
        await client.patch(f"{path}/{editor_id}", json={"role": "viewer"}, headers=viewer)
    ).status_code == 403
    assert (
        await client.patch(f"{path}/{editor_id}", json={"role": "boss"}, headers=owner)
    ).status_code == 422
    assert (
        await client.patch(f"{path}/999999", json={"role": "viewer"}, headers=owner)
    ).status_code == 404

    # The last owner can neither be demoted nor leave...
    demote = await client.patch(f"{path}/{owner_id}", json={"role": "admin"}, headers=owner)
    assert demote.status_code == 409 and "owner" in demote.json()["detail"]
    assert (await client.delete(f"{path}/{owner_id}", headers=owner)).status_code == 409
    # ...until there is another.
    assert (
        await client.patch(f"{path}/{editor_id}", json={"role": "owner"}, headers=owner)
    ).status_code == 200
    assert (await client.delete(f"{path}/{owner_id}", headers=owner)).status_code == 204
    assert (await client.get(path, headers=owner)).status_code == 404
    # Anyone may leave.
    viewer_id = await me(client, viewer)
    assert (await client.delete(f"{path}/{viewer_id}", headers=viewer)).status_code == 204


async def test_invitations_work_once_and_expire(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    team = await make_team(client)
    made = await invite(client, team.slug, team.members["admin"], "editor")
    assert made.status_code == 201
    body = made.json()
    assert body["role"] == "editor" and body["url"].endswith(body["token"])
    # Editors and viewers cannot invite; admins cannot invite owners.
    assert (await invite(client, team.slug, team.members["editor"], "viewer")).status_code == 403
    assert (await invite(client, team.slug, team.members["admin"], "owner")).status_code == 403
    newcomer = await make_user(client)
    accepted = await client.post(f"/api/invitations/{body['token']}/accept", headers=newcomer)
    assert accepted.status_code == 200 and accepted.json()["slug"] == team.slug
    assert accepted.json()["role"] == "editor"
    again = await client.post(
        f"/api/invitations/{body['token']}/accept", headers=await make_user(client)
    )
    assert again.status_code == 404
    unknown = await client.post("/api/invitations/nope/accept", headers=newcomer)
    assert unknown.status_code == 404
    # Only a hash of the token is kept.
    async with app.runtime.sessionmaker() as session:
        stored = (await session.execute(select(Invitation.token_hash))).scalars().all()
    assert body["token"] not in stored and len(stored) >= 4

    late = (await invite(client, team.slug, team.members["owner"], "viewer")).json()
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Invitation)
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .where(Invitation.accepted_at.is_(None))  # type: ignore[union-attr]
        )
    gone = await client.post(
        f"/api/invitations/{late['token']}/accept", headers=await make_user(client)
    )
    assert gone.status_code == 410 and "expired" in gone.json()["detail"]


async def test_pending_invitations_are_listed_and_revoked(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    team = await make_team(client)  # its members joined by invitations: none is pending
    owner, admin = team.members["owner"], team.members["admin"]
    path = f"/api/workspaces/{team.slug}/invitations"
    mailed = {"role": "editor", "email": "newcomer@example.com"}
    by_admin = (await client.post(path, json=mailed, headers=admin)).json()
    by_owner = (await invite(client, team.slug, owner, "owner")).json()
    stale = (await invite(client, team.slug, owner, "viewer")).json()
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Invitation)
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .where(Invitation.role == "viewer", Invitation.accepted_at.is_(None))  # type: ignore[union-attr]
        )

    listed = await client.get(path, headers=admin)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    admin_email = (await client.get("/api/users/me", headers=admin)).json()["email"]
    owner_email = (await client.get("/api/users/me", headers=owner)).json()["email"]
    # Newest first, the expired one left out; the token was shown once and never again.
    assert [(r["role"], r["email"], r["invited_by"]) for r in rows] == [
        ("owner", None, owner_email),
        ("editor", "newcomer@example.com", admin_email),
    ]
    assert all("token" not in r for r in rows) and stale["token"]
    owners_id, admins_id = rows[0]["id"], rows[1]["id"]
    # Editors and viewers neither see nor revoke them; outsiders do not see the workspace.
    assert (await client.get(path, headers=team.members["editor"])).status_code == 403
    viewer = team.members["viewer"]
    assert (await client.delete(f"{path}/{admins_id}", headers=viewer)).status_code == 403
    assert (await client.delete(f"{path}/2000000", headers=viewer)).status_code == 403  # no probing
    assert (await client.get(path, headers=team.outsider)).status_code == 404
    # An admin may not revoke an owner's invitation (nor make one); their own, yes.
    assert (await client.delete(f"{path}/{owners_id}", headers=admin)).status_code == 403
    assert (await client.delete(f"{path}/{admins_id}", headers=admin)).status_code == 204
    newcomer = await make_user(client)
    revoked = await client.post(f"/api/invitations/{by_admin['token']}/accept", headers=newcomer)
    assert revoked.status_code == 404  # its link opens nothing
    assert (await client.delete(f"{path}/{admins_id}", headers=admin)).status_code == 404
    # An accepted invitation is the record of who let a member in: not revoked, not listed.
    joined = await client.post(f"/api/invitations/{by_owner['token']}/accept", headers=newcomer)
    assert joined.status_code == 200
    assert (await client.delete(f"{path}/{owners_id}", headers=owner)).status_code == 404
    assert (await client.get(path, headers=owner)).json() == []
    # Another workspace's invitation is not found through this one.
    other = await make_team(client)
    await invite(client, other.slug, other.members["owner"], "viewer")
    theirs = f"/api/workspaces/{other.slug}/invitations"
    their_id = (await client.get(theirs, headers=other.members["owner"])).json()[0]["id"]
    assert (await client.delete(f"{path}/{their_id}", headers=owner)).status_code == 404
    assert len((await client.get(theirs, headers=other.members["owner"])).json()) == 1
    async with app.runtime.sessionmaker() as session:
        audited = (
            (
                await session.execute(
                    select(AuditEvent.target).where(AuditEvent.action == "invitation.revoked")
                )
            )
            .scalars()
            .all()
        )
    assert audited == [str(admins_id)]


async def test_a_revocation_racing_an_acceptance_waits_and_finds_it_accepted(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    team = await make_team(client)
    owner = team.members["owner"]
    token = (await invite(client, team.slug, owner, "viewer")).json()["token"]
    path = f"/api/workspaces/{team.slug}/invitations"
    invitation_id = (await client.get(path, headers=owner)).json()[0]["id"]
    newcomer_id = await me(client, await make_user(client))
    owner_id = await me(client, owner)
    sessions = app.runtime.sessionmaker

    async def revoke() -> None:
        async with sessions() as session, session.begin():
            workspace = (
                await session.execute(select(Workspace).where(Workspace.slug == team.slug))
            ).scalar_one()
            by = await session.get(User, owner_id)
            assert by is not None
            await members.revoke_invitation(
                session, by=by, by_role="owner", workspace=workspace, invitation_id=invitation_id
            )

    async with sessions() as accepting, accepting.begin():
        newcomer = await accepting.get(User, newcomer_id)
        assert newcomer is not None
        await members.accept(accepting, user=newcomer, token=token)  # locked, not committed
        revoking = asyncio.create_task(revoke())
        await asyncio.sleep(0.3)
        assert not revoking.done()  # it waits for the acceptance
    with pytest.raises(NotFound):
        await revoking
    joined = await client.get(f"/api/workspaces/{team.slug}/members", headers=owner)
    assert newcomer_id in {m["user_id"] for m in joined.json()}


async def test_links_belong_to_the_workspace_acted_in(client: httpx.AsyncClient) -> None:
    team = await make_team(client)
    editor = team.acting("editor")
    made = await make_link(client, editor, alias=f"ws-{team.slug}")
    key = made["key"]
    # Every member sees it; in their personal workspace it is not there; outsiders get 404.
    for role in ("owner", "admin", "viewer"):
        assert (await client.get(f"/api/links/{key}", headers=team.acting(role))).status_code == 200
    assert (
        await client.get(f"/api/links/{key}", headers=team.members["viewer"])
    ).status_code == 404
    outsider = {**team.outsider, "X-Workspace": team.slug}
    foreign = await client.get(f"/api/links/{key}", headers=outsider)
    assert foreign.status_code == 404 and foreign.json()["detail"] == "workspace not found"
    assert (await client.get(f"/api/links/{key}", headers=team.outsider)).status_code == 404
    # A viewer reads but cannot write.
    viewer = team.acting("viewer")
    refused = await client.patch(f"/api/links/{key}", json={"title": "x"}, headers=viewer)
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]
    listed = (await client.get("/api/links", headers=team.acting("owner"))).json()
    assert [link["key"] for link in listed["items"]] == [key]
    assert (await client.get("/api/links", headers=team.members["owner"])).json()["total"] == 0


async def test_api_keys_stay_in_their_workspace_within_their_creators_role(
    client: httpx.AsyncClient,
) -> None:
    team = await make_team(client)
    viewer, editor = team.acting("viewer"), team.acting("editor")
    wider = await client.post(
        "/api/keys", json={"name": "k", "scopes": ["links:write"]}, headers=viewer
    )
    assert wider.status_code == 403 and "links:write" in wider.json()["detail"]
    read_only = await client.post(
        "/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=viewer
    )
    assert read_only.status_code == 201
    made = await client.post("/api/keys", json={"name": "k"}, headers=editor)
    assert made.status_code == 201
    key = {"X-API-Key": made.json()["key"]}
    link = await make_link(client, key, alias=f"key-{team.slug}")
    assert (
        await client.get(f"/api/links/{link['key']}", headers=team.acting("owner"))
    ).status_code == 200
    # The key acts in its own workspace only.
    personal = (await client.get("/api/workspaces", headers=team.members["editor"])).json()[0]
    elsewhere = await client.get("/api/links", headers={**key, "X-Workspace": personal["slug"]})
    assert elsewhere.status_code == 404
    # Its creator demoted to viewer: the key can no longer write, only read.
    editor_id = await me(client, team.members["editor"])
    demoted = await client.patch(
        f"/api/workspaces/{team.slug}/members/{editor_id}",
        json={"role": "viewer"},
        headers=team.members["owner"],
    )
    assert demoted.status_code == 200
    cut = await client.post("/api/links", json={"url": "https://example.com/x"}, headers=key)
    assert cut.status_code == 403
    assert (await client.get("/api/links", headers=key)).status_code == 200
    # Gone from the workspace: the key opens nothing.
    assert (
        await client.delete(
            f"/api/workspaces/{team.slug}/members/{editor_id}", headers=team.members["owner"]
        )
    ).status_code == 204
    assert (await client.get("/api/links", headers=key)).status_code == 403


async def test_owners_may_require_two_factor_of_members(client: httpx.AsyncClient) -> None:
    from tests.auth.test_two_factor import turn_on

    team = await make_team(client)
    owner = team.members["owner"]
    path = f"/api/workspaces/{team.slug}"
    # Not before the owner has it on (they would lock themselves out).
    first = await client.patch(path, json={"require_two_factor": True}, headers=owner)
    assert first.status_code == 422
    assert (
        await client.patch(path, json={"name": "x"}, headers=team.members["admin"])
    ).status_code == 403
    await turn_on(client, owner)
    on = await client.patch(path, json={"require_two_factor": True}, headers=owner)
    assert on.status_code == 200 and on.json()["require_two_factor"] is True
    refused = await client.get("/api/links", headers=team.acting("editor"))
    assert refused.status_code == 403 and "two-factor" in refused.json()["detail"]
    assert (await client.get("/api/links", headers=team.acting("owner"))).status_code == 200
    await turn_on(client, team.members["editor"])
    assert (await client.get("/api/links", headers=team.acting("editor"))).status_code == 200
    # Their personal workspace never asked for it.
    assert (await client.get("/api/links", headers=team.members["viewer"])).status_code == 200


async def test_changes_are_audited_with_their_workspace(
    client: httpx.AsyncClient, app: ShortenerApp
) -> None:
    team = await make_team(client)
    await make_link(client, team.acting("editor"))
    async with app.runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.workspace_id).where(
                    AuditEvent.workspace_id.is_not(None)  # type: ignore[union-attr]
                )
            )
        ).all()
    actions = [action for action, _ in rows]
    assert {"workspace.created", "invitation.created", "member.joined", "link.created"} <= set(
        actions
    )
    assert len({workspace for _, workspace in rows}) == 1


async def test_an_invitation_admits_no_more_than_its_maker_may_still_grant(
    client: httpx.AsyncClient,
) -> None:
    """An invitation carries its maker's say-so: once they are removed or demoted below the
    role it grants, its link opens nothing (else a removed admin who kept a link joins again,
    as admin, from another account)."""
    team = await make_team(client)
    owner, admin = team.members["owner"], team.members["admin"]
    path = f"/api/workspaces/{team.slug}/members"
    kept = (await invite(client, team.slug, admin, "admin")).json()["token"]
    also_kept = (await invite(client, team.slug, admin, "viewer")).json()["token"]
    removed = await client.delete(f"{path}/{await me(client, admin)}", headers=owner)
    assert removed.status_code == 204
    second_account = await make_user(client)
    refused = await client.post(f"/api/invitations/{kept}/accept", headers=second_account)
    assert refused.status_code == 404, refused.text
    assert (
        await client.post(f"/api/invitations/{also_kept}/accept", headers=second_account)
    ).status_code == 404
    listed = await client.get(path, headers=owner)
    assert await me(client, second_account) not in {m["user_id"] for m in listed.json()}

    # Demoted below what it grants: the same; an owner's invitation stays good.
    editor = team.members["editor"]
    promoted = await client.patch(
        f"{path}/{await me(client, editor)}", json={"role": "admin"}, headers=owner
    )
    assert promoted.status_code == 200
    by_editor = (await invite(client, team.slug, editor, "editor")).json()["token"]
    by_owner = (await invite(client, team.slug, owner, "editor")).json()["token"]
    demoted = await client.patch(
        f"{path}/{await me(client, editor)}", json={"role": "editor"}, headers=owner
    )
    assert demoted.status_code == 200
    newcomer = await make_user(client)
    assert (
        await client.post(f"/api/invitations/{by_editor}/accept", headers=newcomer)
    ).status_code == 404
    joined = await client.post(f"/api/invitations/{by_owner}/accept", headers=newcomer)
    assert joined.status_code == 200 and joined.json()["role"] == "editor"


async def test_a_workspace_that_requires_two_factor_is_managed_only_with_it(
    client: httpx.AsyncClient,
) -> None:
    """Without two-factor sign-in a member of such a workspace may list its members and leave
    it, nothing more: not invite (a stolen password would invite its thief), change roles,
    remove members, nor change or delete the workspace (an owner without it: switch it off)."""
    from tests.auth.test_two_factor import turn_on

    team = await make_team(client)
    owner, admin = team.members["owner"], team.members["admin"]
    await turn_on(client, owner)
    base = f"/api/workspaces/{team.slug}"
    required = await client.patch(base, json={"require_two_factor": True}, headers=owner)
    assert required.status_code == 200, required.text
    editor_id = await me(client, team.members["editor"])
    viewer_id = await me(client, team.members["viewer"])
    # A second owner, without two-factor sign-in.
    second = team.members["editor"]
    made = await client.patch(f"{base}/members/{editor_id}", json={"role": "owner"}, headers=owner)
    assert made.status_code == 200, made.text

    invited = await invite(client, team.slug, admin, "admin")
    assert invited.status_code == 403 and "two-factor" in invited.json()["detail"]
    assert (await client.get(f"{base}/invitations", headers=admin)).status_code == 403
    changed = await client.patch(
        f"{base}/members/{viewer_id}", json={"role": "admin"}, headers=admin
    )
    assert changed.status_code == 403
    assert (await client.delete(f"{base}/members/{viewer_id}", headers=admin)).status_code == 403
    off = await client.patch(base, json={"require_two_factor": False}, headers=second)
    assert off.status_code == 403 and "two-factor" in off.json()["detail"]
    assert (await client.delete(base, headers=second)).status_code == 403
    # With it on, the owner manages as before.
    assert (await client.get(f"{base}/invitations", headers=owner)).status_code == 200
    assert (await invite(client, team.slug, owner, "viewer")).status_code == 201

    # Listing and leaving stay open.
    assert (await client.get(f"{base}/members", headers=admin)).status_code == 200
    admin_id = await me(client, admin)
    assert (await client.delete(f"{base}/members/{admin_id}", headers=admin)).status_code == 204
    members_now = (await client.get(f"{base}/members", headers=owner)).json()
    assert {m["user_id"]: m["role"] for m in members_now}[viewer_id] == "viewer"
