from __future__ import annotations

from datetime import timedelta

from shortener.models import ApiKey, utcnow
from tests.factories import make_link, make_user


async def new_key(client, headers, *scopes: str, name: str = "ci") -> dict:
    response = await client.post(
        "/api/keys", json={"name": name, "scopes": list(scopes)}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_list_revoke(client) -> None:
    headers = await make_user(client)
    created = await new_key(client, headers, "links:read", "links:write")
    assert created["key"].startswith("sk_")
    assert created["scopes"] == ["links:read", "links:write"]
    assert created["last_used_at"] is None
    assert set(created) >= {"id", "name", "scopes", "key", "created_at", "last_used_at"}

    listed = (await client.get("/api/keys", headers=headers)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert created["key"].startswith(listed[0]["prefix"])

    assert (await client.delete(f"/api/keys/{created['id']}", headers=headers)).status_code == 204
    assert (await client.get("/api/keys", headers=headers)).json() == []
    assert (await client.delete(f"/api/keys/{created['id']}", headers=headers)).status_code == 404


async def test_key_is_stored_hashed(client, app) -> None:
    headers = await make_user(client)
    created = await new_key(client, headers, "links:read")
    async with app.runtime.sessionmaker() as session:
        stored = await session.get(ApiKey, created["id"])
    assert stored is not None
    assert created["key"] not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64


async def test_key_works_with_its_scopes(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="mine1")
    reader = {"X-API-Key": (await new_key(client, headers, "links:read"))["key"]}
    writer = {"X-API-Key": (await new_key(client, headers, "links:write"))["key"]}

    assert (await client.get("/api/links/mine1", headers=reader)).status_code == 200
    assert (await client.get("/api/links", headers=reader)).json()["total"] == 1
    denied = await client.post("/api/links", json={"url": "https://a.example"}, headers=reader)
    assert denied.status_code == 403
    assert "links:write" in denied.json()["detail"]

    made = await client.post("/api/links", json={"url": "https://a.example"}, headers=writer)
    assert made.status_code == 201
    assert (await client.get("/api/links", headers=writer)).status_code == 403
    patched = await client.patch("/api/links/mine1", json={"title": "t"}, headers=writer)
    assert patched.status_code == 200
    assert (await client.delete("/api/links/mine1", headers=writer)).status_code == 204


async def test_scopes_omitted_are_the_documented_defaults(client, app) -> None:
    headers = await make_user(client)
    response = await client.post("/api/keys", json={"name": "ci"}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["scopes"] == ["links:read", "links:write", "stats:read"]
    schema = app.openapi()["components"]["schemas"]["ApiKeyCreate"]
    assert "scopes" not in schema.get("required", [])
    assert "links:read, links:write, stats:read" in schema["properties"]["scopes"]["description"]


async def test_a_key_sent_as_bearer_is_told_to_use_x_api_key(client) -> None:
    headers = await make_user(client)
    key = (await new_key(client, headers, "links:read"))["key"]
    for path in ("/api/links", "/api/users/me", "/api/keys"):
        response = await client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401, path
        assert "X-API-Key" in response.json()["detail"], path
    # What it says is true: the same key in X-API-Key is let in.
    assert (await client.get("/api/links", headers={"X-API-Key": key})).status_code == 200


async def test_a_token_sent_as_x_api_key_is_told_to_use_bearer(client) -> None:
    headers = await make_user(client)
    token = headers["Authorization"].removeprefix("Bearer ")
    response = await client.get("/api/links", headers={"X-API-Key": token})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


async def test_unknown_and_revoked_keys_are_401(client) -> None:
    headers = await make_user(client)
    created = await new_key(client, headers, "links:read")
    key = {"X-API-Key": created["key"]}
    assert (await client.get("/api/links", headers=key)).status_code == 200
    await client.delete(f"/api/keys/{created['id']}", headers=headers)
    revoked = await client.get("/api/links", headers=key)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    unknown = await client.get("/api/links", headers={"X-API-Key": "sk_not-a-key"})
    assert unknown.status_code == 401


async def test_a_key_sees_only_its_owners_links(client) -> None:
    alice = await make_user(client)
    bob = await make_user(client)
    await make_link(client, alice, alias="alices")
    bob_key = {"X-API-Key": (await new_key(client, bob, "links:read", "links:write"))["key"]}
    assert (await client.get("/api/links/alices", headers=bob_key)).status_code == 404
    assert (await client.delete("/api/links/alices", headers=bob_key)).status_code == 404


async def test_keys_cannot_manage_keys(client) -> None:
    headers = await make_user(client)
    key = {"X-API-Key": (await new_key(client, headers, "links:read", "links:write"))["key"]}
    response = await client.post(
        "/api/keys", json={"name": "x", "scopes": ["stats:read"]}, headers=key
    )
    assert response.status_code == 403
    assert (await client.get("/api/keys", headers=key)).status_code == 403
    assert (await client.get("/api/keys")).status_code == 401


async def test_bad_key_bodies_are_422(client) -> None:
    headers = await make_user(client)
    for body in (
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},
        {"name": "", "scopes": ["links:read"]},
        {"scopes": ["links:read"]},
        {"name": "x", "scopes": ["links:read"], "extra": 1},
    ):
        response = await client.post("/api/keys", json=body, headers=headers)
        assert response.status_code == 422, body
    assert (await client.delete("/api/keys/0", headers=headers)).status_code == 422
    assert (await client.delete("/api/keys/99999", headers=headers)).status_code == 404


async def test_last_used_is_kept_at_most_once_a_minute(client, app) -> None:
    headers = await make_user(client)
    created = await new_key(client, headers, "links:read")
    key = {"X-API-Key": created["key"]}
    await client.get("/api/links", headers=key)
    first = (await client.get("/api/keys", headers=headers)).json()[0]["last_used_at"]
    assert first is not None
    await client.get("/api/links", headers=key)
    assert (await client.get("/api/keys", headers=headers)).json()[0]["last_used_at"] == first

    # A minute later, the next use is written.
    async with app.runtime.sessionmaker() as session, session.begin():
        stored = await session.get(ApiKey, created["id"])
        assert stored is not None
        stored.last_used_at = utcnow() - timedelta(minutes=2)
    await client.get("/api/links", headers=key)
    later = (await client.get("/api/keys", headers=headers)).json()[0]["last_used_at"]
    assert later > first
