from __future__ import annotations

from tests.factories import make_link, make_user, new_email, token_for


async def me(client, headers) -> dict:
    response = await client.get("/api/users/me", headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_only_admins(client) -> None:
    user = await make_user(client)
    target = await me(client, user)
    assert (await client.get("/api/admin/users", headers=user)).status_code == 403
    patch = await client.patch(
        f"/api/admin/users/{target['id']}", json={"is_active": False}, headers=user
    )
    assert patch.status_code == 403
    assert (
        await client.delete(f"/api/admin/users/{target['id']}", headers=user)
    ).status_code == 403
    assert (await client.get("/api/admin/users")).status_code == 401
    # An admin's API key is not an admin.
    admin = await make_user(client, admin=True)
    key = await client.post(
        "/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=admin
    )
    api_key = {"X-API-Key": key.json()["key"]}
    assert (await client.get("/api/admin/users", headers=api_key)).status_code == 403


async def test_list_users_paginated(client) -> None:
    admin = await make_user(client, admin=True)
    users = [await make_user(client) for _ in range(3)]
    await make_link(client, users[0])
    await make_link(client, users[0], url="https://b.example")
    page = (await client.get("/api/admin/users?limit=2", headers=admin)).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (4, 2, 0, 2)
    rest = (await client.get("/api/admin/users?limit=2&offset=2", headers=admin)).json()
    everyone = page["items"] + rest["items"]
    assert len({u["id"] for u in everyone}) == 4
    first = await me(client, users[0])
    row = next(u for u in everyone if u["id"] == first["id"])
    assert (row["links"], row["is_active"], row["is_admin"]) == (2, True, False)
    found = (await client.get(f"/api/admin/users?q={first['email']}", headers=admin)).json()
    assert [u["id"] for u in found["items"]] == [first["id"]]
    assert (await client.get("/api/admin/users?limit=0", headers=admin)).status_code == 422


async def test_disable_and_enable(client) -> None:
    admin = await make_user(client, admin=True)
    email = new_email()
    user = await make_user(client, email=email)
    target = await me(client, user)
    await make_link(client, user, alias="owned-1")
    key = await client.post("/api/keys", json={"name": "k", "scopes": ["links:read"]}, headers=user)
    api_key = {"X-API-Key": key.json()["key"]}
    assert (await client.get("/owned-1")).status_code == 302  # cached now

    response = await client.patch(
        f"/api/admin/users/{target['id']}", json={"is_active": False}, headers=admin
    )
    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["links"]) == (False, 1)
    assert (await client.get("/owned-1")).status_code == 410
    assert (await client.get("/api/users/me", headers=user)).status_code == 401
    assert (await client.get("/api/links", headers=api_key)).status_code == 401
    signin = await client.post("/api/auth/token", data={"username": email, "password": "x" * 9})
    assert signin.status_code == 401

    response = await client.patch(
        f"/api/admin/users/{target['id']}", json={"is_active": True}, headers=admin
    )
    assert response.json()["is_active"] is True
    assert (await client.get("/owned-1")).status_code == 302
    assert (await client.get("/api/links", headers=api_key)).status_code == 200
    # Tokens issued before the disabling stay dead; a new sign-in works.
    assert (await client.get("/api/users/me", headers=user)).status_code == 401
    fresh = {"Authorization": f"Bearer {await token_for(client, email)}"}
    assert (await client.get("/api/users/me", headers=fresh)).status_code == 200


async def test_delete_user_with_links(client) -> None:
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    target = await me(client, user)
    await make_link(client, user, alias="doomed-1")
    await make_link(client, user, alias="doomed-2")
    assert (await client.get("/doomed-1")).status_code == 302
    response = await client.delete(f"/api/admin/users/{target['id']}", headers=admin)
    assert response.status_code == 204
    assert (await client.get("/doomed-1")).status_code == 404
    assert (await client.get("/doomed-2")).status_code == 404
    assert (await client.get("/api/links/doomed-1", headers=admin)).status_code == 404
    assert (
        await client.delete(f"/api/admin/users/{target['id']}", headers=admin)
    ).status_code == 404
    # The alias is free again.
    await make_link(client, admin, alias="doomed-1")


async def test_admins_cannot_lock_themselves_out(client) -> None:
    admin = await make_user(client, admin=True)
    own = await me(client, admin)
    response = await client.patch(
        f"/api/admin/users/{own['id']}", json={"is_active": False}, headers=admin
    )
    assert response.status_code == 409
    assert (await client.delete(f"/api/admin/users/{own['id']}", headers=admin)).status_code == 409
    assert (
        await client.patch("/api/admin/users/999999", json={"is_active": False}, headers=admin)
    ).status_code == 404
    bad = await client.patch(
        f"/api/admin/users/{own['id']}", json={"is_active": "maybe"}, headers=admin
    )
    assert bad.status_code == 422


async def test_admins_see_every_link(client) -> None:
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    await make_link(client, user, alias="users-link")
    assert (await client.get("/api/links/users-link", headers=admin)).status_code == 200
    assert (await client.get("/api/links", headers=admin)).json()["total"] == 1
