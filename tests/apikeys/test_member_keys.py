"""A shared workspace's owners and admins see every member's API keys and can revoke them
(a key that leaked, a script no longer needed); editors and viewers see and touch only their
own. An admin cannot revoke an owner's key, as an admin cannot demote an owner. Over the API
(`GET /api/keys?members=true`, `DELETE /api/keys/{id}`) and the keys page."""

from __future__ import annotations

import httpx

from tests.audit.helpers import events
from tests.audit.test_api import sign_in_page
from tests.conftest import BASE_URL
from tests.web.test_pages import HTML, csrf_of
from tests.workspaces.helpers import Team, email_of, make_team, me


async def _keys(client: httpx.AsyncClient, team: Team) -> dict[str, dict]:
    """One key of each member of the team, made in the team's workspace, by role."""
    made = {}
    for role in ("owner", "admin", "editor", "viewer"):
        response = await client.post(
            "/api/keys",
            json={"name": f"{role}'s script", "scopes": ["links:read"]},
            headers=team.acting(role),
        )
        assert response.status_code == 201, response.text
        made[role] = response.json()
    return made


async def test_owners_and_admins_list_and_revoke_members_keys(client, app) -> None:
    team = await make_team(client)
    keys = await _keys(client, team)
    emails = {role: await email_of(client, team.members[role]) for role in keys}
    assert keys["editor"]["created_by"] == emails["editor"]

    for role in ("owner", "admin"):
        listed = await client.get("/api/keys?members=true", headers=team.acting(role))
        assert listed.status_code == 200, listed.text
        assert {(k["name"], k["created_by"]) for k in listed.json()} == {
            (f"{r}'s script", emails[r]) for r in keys
        }
        assert all("key" not in k for k in listed.json())
        # Without `members`, one's own keys, as always.
        own = (await client.get("/api/keys", headers=team.acting(role))).json()
        assert [k["id"] for k in own] == [keys[role]["id"]]
    for role in ("editor", "viewer"):
        refused = await client.get("/api/keys?members=true", headers=team.acting(role))
        assert refused.status_code == 403
        assert f"your role here is {role}" in refused.json()["detail"]
        # Another member's key does not exist for them.
        other = keys["admin"]["id"]
        gone = await client.delete(f"/api/keys/{other}", headers=team.acting(role))
        assert gone.status_code == 404

    # An admin revokes an editor's key (it stops working at once), not an owner's.
    editor_key = {"X-API-Key": keys["editor"]["key"]}
    assert (await client.get("/api/links", headers=editor_key)).status_code == 200
    revoked = await client.delete(f"/api/keys/{keys['editor']['id']}", headers=team.acting("admin"))
    assert revoked.status_code == 204
    assert (await client.get("/api/links", headers=editor_key)).status_code == 401
    refused = await client.delete(f"/api/keys/{keys['owner']['id']}", headers=team.acting("admin"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "only an owner may revoke an owner's API key"
    assert (
        await client.delete(f"/api/keys/{keys['admin']['id']}", headers=team.acting("owner"))
    ).status_code == 204
    left = (await client.get("/api/keys?members=true", headers=team.acting("owner"))).json()
    assert {k["created_by"] for k in left} == {emails["owner"], emails["viewer"]}
    # The workspace's log says who revoked whose key.
    [event] = await events(app, action="apikey.revoked", target=str(keys["editor"]["id"]))
    assert event.actor == emails["admin"]
    assert event.detail == {"created_by": await me(client, team.members["editor"])}
    seen = await client.get("/api/audit?action=apikey.revoked", headers=team.acting("owner"))
    assert {i["target"] for i in seen.json()["items"]} == {
        str(keys["editor"]["id"]),
        str(keys["admin"]["id"]),
    }

    # Someone of another workspace: the team's keys do not exist for them.
    assert (
        await client.delete(f"/api/keys/{keys['viewer']['id']}", headers=team.outsider)
    ).status_code == 404


async def test_the_keys_page_shows_owners_and_admins_the_members_keys(client, app) -> None:
    team = await make_team(client)
    keys = await _keys(client, team)
    transport = httpx.ASGITransport(app=app)
    page_path = f"/w/{team.slug}/dashboard/keys"
    for role in ("owner", "admin", "editor", "viewer"):
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
            await sign_in_page(browser, await email_of(client, team.members[role]))
            page = await browser.get(page_path)
            assert page.status_code == 200, (role, page.text)
            if role in ("owner", "admin"):
                assert "Members' keys" in page.text
                others = {r for r in keys if r != role}
                for other in others:
                    assert f"{other}&#39;s script" in page.text
            else:
                assert "Members' keys" not in page.text
                assert "admin&#39;s script" not in page.text
    # The owner revokes the viewer's key through the page: asked first, then revoked.
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        await sign_in_page(browser, await email_of(client, team.members["owner"]))
        viewer_key = keys["viewer"]["id"]
        confirm = await browser.get(f"{page_path}/{viewer_key}/revoke")
        viewer_email = await email_of(client, team.members["viewer"])
        assert f"Revoke {viewer_email}'s key “viewer&#39;s script”?" in confirm.text
        done = await browser.post(
            f"{page_path}/{viewer_key}/revoke", data={"csrf_token": csrf_of(confirm)}
        )
        assert done.status_code == 303
        assert "viewer&#39;s script" not in (await browser.get(page_path)).text
    # An editor's page cannot reach another member's key.
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
        await sign_in_page(browser, await email_of(client, team.members["editor"]))
        other = keys["admin"]["id"]
        assert (await browser.get(f"{page_path}/{other}/revoke", headers=HTML)).status_code == 404
