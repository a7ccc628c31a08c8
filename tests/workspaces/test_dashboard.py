"""The dashboard in a workspace: /w/{slug}/dashboard/... acts there (both storage modes).

Each person is a browser of their own (a cookie jar): the owner, a viewer and an outsider.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from shortener.keys import alias_problem
from shortener.main import ShortenerApp
from tests.conftest import BASE_URL
from tests.factories import token_for
from tests.web.test_pages import csrf_of, register
from tests.workspaces.helpers import new_slug

INVITATION = re.compile(r'<code id="invitation-url">[^<]*/dashboard/invitations/([^<]+)</code>')


class Browser:
    """One person's cookie jar on the app, signed in through the pages."""

    def __init__(self, client: httpx.AsyncClient, email: str) -> None:
        self.client, self.email = client, email

    async def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await token_for(self.client, self.email)}"}

    async def post(self, path: str, **form: str) -> httpx.Response:
        """A form post from the page at `path`'s own workspace, with its CSRF token."""
        page = path.rsplit("/dashboard", 1)[0] + "/dashboard"
        token = csrf_of(await self.client.get(page))
        return await self.client.post(path, data={**form, "csrf_token": token})


async def _invite(owner: Browser, slug: str, role: str) -> httpx.Response:
    """An invitation made on the workspace page: a 303 back to it, where the link is shown."""
    made = await owner.post(f"/w/{slug}/dashboard/workspace/invitations", role=role)
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"/w/{slug}/dashboard/workspace"
    return await owner.client.get(made.headers["location"])


@pytest.fixture
async def browsers(app: ShortenerApp) -> AsyncIterator[object]:
    clients: list[httpx.AsyncClient] = []

    async def new() -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        clients.append(client)
        return Browser(client, await register(client))

    yield new
    for client in clients:
        await client.aclose()


async def _team(owner: Browser) -> tuple[str, dict[str, str]]:
    """A workspace of `owner`'s (made through the API) and the headers that act in it."""
    slug, headers = new_slug(), await owner.bearer()
    made = await owner.client.post(
        "/api/workspaces", json={"name": "Growth team", "slug": slug}, headers=headers
    )
    assert made.status_code == 201, made.text
    return slug, {**headers, "X-Workspace": slug}


async def _keys(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    listed = await client.get("/api/links", headers=headers)
    assert listed.status_code == 200, listed.text
    return {link["key"] for link in listed.json()["items"]}


async def test_the_prefix_names_the_workspace_the_pages_act_in(browsers) -> None:  # type: ignore[no-untyped-def]
    owner = await browsers()
    slug, team = await _team(owner)
    personal = await owner.bearer()
    for alias, headers in (("team-link", team), ("mine-link", personal)):
        body = {"url": f"https://example.com/{alias}", "alias": alias}
        assert (
            await owner.client.post("/api/links", json=body, headers=headers)
        ).status_code == 201

    page = await owner.client.get(f"/w/{slug}/dashboard")
    assert page.status_code == 200
    assert "team-link" in page.text and "mine-link" not in page.text
    # Every dashboard link on the page stays in the workspace.
    assert f'href="/w/{slug}/dashboard/keys"' in page.text
    assert 'href="/dashboard/keys"' not in page.text
    mine = await owner.client.get("/dashboard")
    assert "mine-link" in mine.text and "team-link" not in mine.text

    # A link made from the workspace's page is the workspace's, and the answer stays there.
    made = await owner.post(
        f"/w/{slug}/dashboard/links", url="https://example.com/made", alias="made-here"
    )
    assert made.status_code == 303 and made.headers["location"] == f"/w/{slug}/dashboard"
    assert "made-here" in await _keys(owner.client, team)
    assert "made-here" not in await _keys(owner.client, personal)
    link_page = await owner.client.get(f"/w/{slug}/dashboard/links/made-here")
    assert link_page.status_code == 200
    assert (await owner.client.get("/dashboard/links/made-here")).status_code == 404

    # Signed out, the sign-in page brings the visitor back under the prefix.
    owner.client.cookies.clear()
    away = await owner.client.get(f"/w/{slug}/dashboard/keys")
    assert away.status_code == 303
    assert away.headers["location"] == f"/login?next=/w/{slug}/dashboard/keys"


async def test_outsiders_get_404_and_viewers_read_but_cannot_write(browsers) -> None:  # type: ignore[no-untyped-def]
    owner, viewer, outsider = await browsers(), await browsers(), await browsers()
    slug, team = await _team(owner)
    body = {"url": "https://example.com/shared", "alias": "shared-link"}
    assert (await owner.client.post("/api/links", json=body, headers=team)).status_code == 201

    for path in ("", "/keys", "/links/shared-link", "/workspace", "/domains"):
        hidden = await outsider.client.get(f"/w/{slug}/dashboard{path}")
        assert hidden.status_code == 404, path
        assert "workspace not found" in hidden.text

    invited = await _invite(owner, slug, "viewer")
    assert invited.status_code == 200, invited.text
    token = INVITATION.search(invited.text)
    assert token, invited.text
    accepted = await viewer.post(f"/dashboard/invitations/{token.group(1)}")
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/w/{slug}/dashboard"

    assert "shared-link" in (await viewer.client.get(f"/w/{slug}/dashboard")).text
    assert (await viewer.client.get(f"/w/{slug}/dashboard/links/shared-link")).status_code == 200
    refused = await viewer.post(f"/w/{slug}/dashboard/links", url="https://example.com/v")
    assert refused.status_code == 403 and "viewer" in refused.text
    for path, form in (
        ("/links/shared-link/delete", {}),
        ("/domains", {"hostname": "go.example.org"}),
        ("/webhooks", {"url": "https://hooks.example.org/x", "events": "link.created"}),
        ("/workspace/invitations", {"role": "viewer"}),
    ):
        answer = await viewer.post(f"/w/{slug}/dashboard{path}", **form)
        assert answer.status_code in (403, 422), (path, answer.status_code)
        assert "viewer" in answer.text, path
    assert "shared-link" in await _keys(owner.client, team)


async def test_members_roles_leaving_and_new_workspaces_from_the_page(browsers) -> None:  # type: ignore[no-untyped-def]
    owner, member = await browsers(), await browsers()
    slug, _ = await _team(owner)
    invited = await _invite(owner, slug, "editor")
    token = INVITATION.search(invited.text)
    assert token
    confirm = await member.client.get(f"/dashboard/invitations/{token.group(1)}")
    assert confirm.status_code == 200 and "Growth team" in confirm.text
    assert (await member.post(f"/dashboard/invitations/{token.group(1)}")).status_code == 303

    page = await owner.client.get(f"/w/{slug}/dashboard/workspace")
    assert member.email in page.text and "editor" in page.text
    member_id = int(
        re.search(
            rf'action="/w/{slug}/dashboard/workspace/members/(\d+)/role"',
            page.text.split(member.email, 1)[1],
        ).group(1)
    )  # type: ignore[union-attr]
    changed = await owner.post(
        f"/w/{slug}/dashboard/workspace/members/{member_id}/role", role="viewer"
    )
    assert changed.status_code == 303
    members = (
        await owner.client.get(f"/api/workspaces/{slug}/members", headers=await owner.bearer())
    ).json()
    assert {m["email"]: m["role"] for m in members}[member.email] == "viewer"

    # The last owner cannot leave: the page says why, and nothing changes.
    owner_id = next(m["user_id"] for m in members if m["email"] == owner.email)
    kept = await owner.post(f"/w/{slug}/dashboard/workspace/members/{owner_id}/remove")
    assert kept.status_code == 303 and kept.headers["location"] == f"/w/{slug}/dashboard/workspace"
    assert "keeps at least one owner" in (await owner.client.get(kept.headers["location"])).text

    # The member leaves, and lands in their personal workspace.
    left = await member.post(f"/w/{slug}/dashboard/workspace/members/{member_id}/remove")
    assert left.status_code == 303
    assert left.headers["location"].endswith("/dashboard/workspace")
    assert f"/w/{slug}/" not in left.headers["location"]
    assert (await member.client.get(left.headers["location"])).status_code == 200
    assert (await member.client.get(f"/w/{slug}/dashboard")).status_code == 404

    # A new workspace from the page: its dashboard is where the answer goes.
    fresh = new_slug()
    made = await owner.post("/dashboard/workspaces", name="Support", slug=fresh)
    assert made.status_code == 303 and made.headers["location"] == f"/w/{fresh}/dashboard"
    taken = await owner.post("/dashboard/workspaces", name="Again", slug=fresh)
    assert taken.status_code == 422 and "taken" in taken.text


async def test_pending_invitations_are_shown_and_revoked_from_the_page(browsers) -> None:  # type: ignore[no-untyped-def]
    owner, newcomer = await browsers(), await browsers()
    slug, _ = await _team(owner)
    invited = await _invite(owner, slug, "viewer")
    token = INVITATION.search(invited.text)
    assert token
    page = (await owner.client.get(f"/w/{slug}/dashboard/workspace")).text
    assert "Waiting to be accepted" in page and f"by {owner.email}" in page
    found = re.search(rf'action="/w/{slug}/dashboard/workspace/invitations/(\d+)/revoke"', page)
    assert found
    revoked = await owner.post(f"/w/{slug}/dashboard/workspace/invitations/{found.group(1)}/revoke")
    assert revoked.status_code == 303
    assert "opens nothing now" in (await owner.client.get(revoked.headers["location"])).text
    assert (
        "Waiting to be accepted"
        not in (await owner.client.get(f"/w/{slug}/dashboard/workspace")).text
    )
    # The link is dead; revoking again says why, and nothing changes.
    opened = await newcomer.client.get(f"/dashboard/invitations/{token.group(1)}")
    assert opened.status_code == 404
    again = await owner.post(f"/w/{slug}/dashboard/workspace/invitations/{found.group(1)}/revoke")
    assert again.status_code == 303
    assert "not found" in (await owner.client.get(again.headers["location"])).text


async def test_the_prefix_takes_nothing_from_the_redirect_path(client) -> None:  # type: ignore[no-untyped-def]
    # /w and /w/... without `dashboard` after the slug are still short links' paths.
    for path in ("/w", "/w/abc", "/w/abc/other"):
        assert (await client.get(path)).status_code == 404, path
    # No key can begin with w/ (an import's short segments included).
    assert alias_problem("w/abc/dashboard", short_segments=True) is not None
    assert alias_problem("w", short_segments=True) is None


async def test_deleting_a_workspace_from_its_page_asks_for_its_slug(browsers) -> None:  # type: ignore[no-untyped-def]
    owner = await browsers()
    slug, _ = await _team(owner)
    wrong = await owner.post(f"/w/{slug}/dashboard/workspace/delete", confirm="nope")
    assert wrong.status_code == 422 and f"type {slug} to delete" in wrong.text
    assert (await owner.client.get(f"/w/{slug}/dashboard")).status_code == 200
    gone = await owner.post(f"/w/{slug}/dashboard/workspace/delete", confirm=slug)
    assert gone.status_code == 303
    assert gone.headers["location"].endswith("/dashboard/workspace")
    assert f"/w/{slug}/" not in gone.headers["location"]
    assert "Growth team is deleted" in (await owner.client.get(gone.headers["location"])).text
    assert (await owner.client.get(f"/w/{slug}/dashboard")).status_code == 404


async def test_a_member_without_two_factor_sees_the_members_and_may_leave(browsers) -> None:  # type: ignore[no-untyped-def]
    """As the API allows: in a workspace that requires two-factor sign-in, a member without it
    gets the workspace page (its members, a note saying what to do, no managing) and leaves
    from it; every other page of the workspace is a 403 page."""
    from tests.auth.test_two_factor import turn_on

    owner, member = await browsers(), await browsers()
    slug, _ = await _team(owner)
    invited = await _invite(owner, slug, "admin")
    token = INVITATION.search(invited.text)
    assert token
    assert (await member.post(f"/dashboard/invitations/{token.group(1)}")).status_code == 303
    owner_headers = await owner.bearer()
    await turn_on(owner.client, owner_headers)
    required = await owner.client.patch(
        f"/api/workspaces/{slug}", json={"require_two_factor": True}, headers=owner_headers
    )
    assert required.status_code == 200, required.text

    assert (await member.client.get(f"/w/{slug}/dashboard")).status_code == 403
    page = await member.client.get(f"/w/{slug}/dashboard/workspace")
    assert page.status_code == 200, page.text
    assert 'id="needs-two-factor"' in page.text and owner.email in page.text
    assert "/workspace/invitations" not in page.text  # an admin, but not managing here
    mine = re.search(
        rf'action="/w/{slug}/dashboard/workspace/members/(\d+)/remove"',
        page.text.split(member.email, 1)[1],
    )
    assert mine, "no way to leave"
    left = await member.client.post(
        f"/w/{slug}/dashboard/workspace/members/{mine.group(1)}/remove",
        data={"csrf_token": csrf_of(page)},
    )
    assert left.status_code == 303 and f"/w/{slug}/" not in left.headers["location"]
    assert (await member.client.get(f"/w/{slug}/dashboard/workspace")).status_code == 404
