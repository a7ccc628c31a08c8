"""The page an invitation's `url` opens: who invites to what, and a button that accepts."""

from __future__ import annotations

import httpx

from tests.factories import make_user, token_for
from tests.web.test_pages import csrf_of, register
from tests.workspaces.helpers import invite, new_slug


async def test_a_signed_in_visitor_joins_from_the_invitation_page(
    client: httpx.AsyncClient,
) -> None:
    owner = await make_user(client)
    slug = new_slug()
    await client.post("/api/workspaces", json={"name": "Design", "slug": slug}, headers=owner)
    made = (await invite(client, slug, owner, "viewer")).json()
    path = made["url"].removeprefix("http://short.test")
    assert path.startswith("/dashboard/invitations/")

    # Signed out: the sign-in page first, then back here.
    signed_out = await client.get(path)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")

    email = await register(client)
    page = await client.get(path)
    assert page.status_code == 200 and "Design" in page.text and "viewer" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    joined = await client.post(path, data={"csrf_token": csrf_of(page)})
    # Joined: on to the workspace's own dashboard.
    assert joined.status_code == 303 and joined.headers["location"] == f"/w/{slug}/dashboard"
    headers = {"Authorization": f"Bearer {await token_for(client, email)}"}
    roles = {
        w["slug"]: w["role"] for w in (await client.get("/api/workspaces", headers=headers)).json()
    }
    assert roles[slug] == "viewer"
    # Used: the page now says so (404).
    assert (await client.get(path)).status_code == 404
