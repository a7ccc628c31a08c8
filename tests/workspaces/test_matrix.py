"""Every workspace-scoped API route, for every role, in the caller's workspace and in one they
are not a member of: the documented status (viewers read, editors and up write; a workspace or
a resource that is not yours: 404)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.factories import make_link
from tests.workspaces.helpers import Team, make_team

ROLES = ("owner", "admin", "editor", "viewer")


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    # Webhook targets on this machine (nothing listens: no delivery is awaited here).
    return make_settings(allow_private_webhooks=True)


_n = itertools.count()

# Makes what the route acts on, in the team's workspace as its owner; returns path values.
Setup = Callable[[httpx.AsyncClient, Team], Awaitable[dict[str, Any]]]


async def _nothing(client: httpx.AsyncClient, team: Team) -> dict[str, Any]:
    return {"n": next(_n)}


async def _a_link(client: httpx.AsyncClient, team: Team) -> dict[str, Any]:
    link = await make_link(client, team.acting("owner"), alias=f"m-{next(_n)}-{team.slug}")
    return {"key": link["key"], "n": next(_n)}


async def _a_domain(client: httpx.AsyncClient, team: Team) -> dict[str, Any]:
    body = {"hostname": f"d{next(_n)}-{team.slug}.example"}
    made = await client.post("/api/domains", json=body, headers=team.acting("owner"))
    assert made.status_code == 201, made.text
    return {"id": made.json()["id"], "n": next(_n)}


async def _a_webhook(client: httpx.AsyncClient, team: Team) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hook", "events": ["link.created"]}
    made = await client.post("/api/webhooks", json=body, headers=team.acting("owner"))
    assert made.status_code == 201, made.text
    return {"id": made.json()["id"], "n": next(_n)}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    # "read": every role; "write": editors and up.
    needs: str
    ok: int = 200
    body: dict[str, Any] | None = None
    setup: Setup = _nothing

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/api/links", "read"),
    Route("POST", "/api/links", "write", 201, {"url": "https://example.com/{n}"}),
    Route("GET", "/api/links/{key}", "read", setup=_a_link),
    Route("PATCH", "/api/links/{key}", "write", body={"title": "t"}, setup=_a_link),
    Route("DELETE", "/api/links/{key}", "write", 204, setup=_a_link),
    Route("GET", "/api/links/{key}/stats", "read", setup=_a_link),
    Route("GET", "/api/links/{key}/qr", "read", setup=_a_link),
    Route("GET", "/api/stats", "read"),
    Route("GET", "/api/links/export", "read"),
    Route("POST", "/api/links/bulk", "write", body={"links": [{"url": "https://e.com/{n}"}]}),
    Route("GET", "/api/domains", "read"),
    Route("POST", "/api/domains", "write", 201, {"hostname": "h{n}.example"}),
    Route("PATCH", "/api/domains/{id}", "write", body={"root_url": None}, setup=_a_domain),
    Route("DELETE", "/api/domains/{id}", "write", 204, setup=_a_domain),
    Route("GET", "/api/webhooks", "write"),  # webhooks are the editors' (their secrets)
    Route(
        "POST",
        "/api/webhooks",
        "write",
        201,
        {"url": "http://127.0.0.1:9/h{n}", "events": ["link.created"]},
    ),
    Route("DELETE", "/api/webhooks/{id}", "write", 204, setup=_a_webhook),
    Route("GET", "/api/webhooks/{id}/deliveries", "write", setup=_a_webhook),
    Route("GET", "/api/keys", "read"),
    # Viewers may make keys, but none wider than their role (the default scopes write).
    Route("POST", "/api/keys", "write", 201, {"name": "k{n}"}),
]


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


async def _call(
    client: httpx.AsyncClient, route: Route, headers: dict[str, str], values: dict[str, Any]
) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if route.body is not None:
        kwargs["json"] = _fill(route.body, values)
    response = await client.request(route.method, _fill(route.path, values), **kwargs)
    return response.status_code


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_each_role_gets_the_documented_status(
    client: httpx.AsyncClient, route: Route
) -> None:
    team = await make_team(client)
    other = await make_team(client)  # a workspace none of `team`'s members belongs to
    got: dict[tuple[str, str], int] = {}
    wanted: dict[tuple[str, str], int] = {}
    for role in ROLES:
        values = await route.setup(client, team)
        allowed = route.needs == "read" or role != "viewer"
        wanted[role, "own"] = route.ok if allowed else 403
        got[role, "own"] = await _call(client, route, team.acting(role), values)
        # The same call naming a workspace they are not in.
        values = await route.setup(client, team)
        foreign = {**team.members[role], "X-Workspace": other.slug}
        wanted[role, "foreign workspace"] = 404
        got[role, "foreign workspace"] = await _call(client, route, foreign, values)
        if route.setup is not _nothing:
            # Another workspace's resource, asked for from one's own.
            theirs = await route.setup(client, other)
            wanted[role, "foreign resource"] = 404 if allowed else 403
            got[role, "foreign resource"] = await _call(client, route, team.acting(role), theirs)
    assert got == wanted
