"""Workspaces made through the real API: a team with one member of each role."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx

from tests.factories import make_user, new_email

_slugs = itertools.count()


def new_slug() -> str:
    return f"team-{next(_slugs)}"


async def new_workspace(client: httpx.AsyncClient, owner: dict[str, str]) -> str:
    """A new shared workspace `owner` made; its slug."""
    slug = new_slug()
    made = await client.post("/api/workspaces", json={"name": "Team", "slug": slug}, headers=owner)
    assert made.status_code == 201, made.text
    return slug


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/api/users/me", headers=headers)
    return int(response.json()["id"])


async def email_of(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.get("/api/users/me", headers=headers)
    return str(response.json()["email"])


async def invite(
    client: httpx.AsyncClient, slug: str, by: dict[str, str], role: str
) -> httpx.Response:
    return await client.post(f"/api/workspaces/{slug}/invitations", json={"role": role}, headers=by)


async def join(
    client: httpx.AsyncClient, slug: str, owner: dict[str, str], role: str
) -> dict[str, str]:
    """A new account that accepted an invitation to `slug` as `role`; its headers."""
    headers = await make_user(client, email=new_email())
    token = (await invite(client, slug, owner, role)).json()["token"]
    accepted = await client.post(f"/api/invitations/{token}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == role
    return headers


@dataclass
class Team:
    slug: str
    # Headers of a member of each role, the owner being the creator.
    members: dict[str, dict[str, str]]
    # Someone of another workspace, for "not yours" answers.
    outsider: dict[str, str]

    def acting(self, role: str) -> dict[str, str]:
        return {**self.members[role], "X-Workspace": self.slug}


async def make_team(client: httpx.AsyncClient) -> Team:
    owner = await make_user(client)
    slug = new_slug()
    made = await client.post("/api/workspaces", json={"name": "Team", "slug": slug}, headers=owner)
    assert made.status_code == 201, made.text
    members = {"owner": owner}
    for role in ("admin", "editor", "viewer"):
        members[role] = await join(client, slug, owner, role)
    return Team(slug, members, await make_user(client))
