"""A Shlink client's view of the service: an account, an API key, and its headers."""

from __future__ import annotations

import httpx

from tests.factories import make_user

ALL_SCOPES = ["links:read", "links:write", "stats:read"]


async def api_key(
    client: httpx.AsyncClient,
    scopes: list[str] | None = None,
    *,
    bearer: dict[str, str] | None = None,
) -> dict[str, str]:
    """X-Api-Key headers for a new account's key (or `bearer`'s account) with `scopes`."""
    bearer = bearer or await make_user(client)
    response = await client.post(
        "/api/keys", json={"name": "shlink", "scopes": scopes or ALL_SCOPES}, headers=bearer
    )
    assert response.status_code == 201, response.text
    return {"X-Api-Key": response.json()["key"]}


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["type"] == f"https://shlink.io/api/error/{kind}", body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body
