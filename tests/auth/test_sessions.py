"""Sessions: every token and dashboard cookie is a session that can end, and ids are not reborn."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
from sqlalchemy import select, update

from shortener.models import AuthSession, utcnow
from tests.factories import PASSWORD, make_user, new_email, token_for
from tests.web.test_pages import csrf_of, page_token, register

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _account(client: httpx.AsyncClient) -> tuple[str, int]:
    email = new_email()
    r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return email, r.json()["id"]


async def test_a_deleted_users_token_does_not_sign_in_as_the_next_account(client) -> None:
    """Finding 1: on SQLite the next account got the deleted user's id, and the old token
    signed in as it."""
    admin = await make_user(client, admin=True)
    old_email, old_id = await _account(client)
    old_token = await token_for(client, old_email)
    assert (await client.delete(f"/api/admin/users/{old_id}", headers=admin)).status_code == 204

    new_email_, new_id = await _account(client)
    assert new_id != old_id
    me = await client.get("/api/users/me", headers=bearer(old_token))
    assert me.status_code == 401, me.text
    assert new_email_ not in me.text


async def test_logout_ends_the_token_it_is_called_with(client) -> None:
    email, _ = await _account(client)
    token, other = await token_for(client, email), await token_for(client, email)
    assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 204
    refused = await client.get("/api/users/me", headers=bearer(token))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    # Only that session: the user's other token still works.
    assert (await client.get("/api/users/me", headers=bearer(other))).status_code == 200
    assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 401


async def test_sessions_are_listed_and_one_can_be_ended(client) -> None:
    email, _ = await _account(client)
    first, second = await token_for(client, email), await token_for(client, email)
    listed = await client.get("/api/auth/sessions", headers=bearer(second))
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert len(rows) == 2
    assert all(set(row) == {"id", "kind", "created_at", "last_used_at", "current"} for row in rows)
    assert {row["kind"] for row in rows} == {"token"}
    (current,) = [row for row in rows if row["current"]]
    (other,) = [row for row in rows if not row["current"]]

    gone = await client.delete(f"/api/auth/sessions/{other['id']}", headers=bearer(second))
    assert gone.status_code == 204
    assert (await client.get("/api/users/me", headers=bearer(first))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(second))).status_code == 200
    after = (await client.get("/api/auth/sessions", headers=bearer(second))).json()
    assert [row["id"] for row in after] == [current["id"]]


async def test_another_users_or_an_unknown_session_is_404(client) -> None:
    alice_email, _ = await _account(client)
    bob_email, _ = await _account(client)
    alice, bob = await token_for(client, alice_email), await token_for(client, bob_email)
    (alices,) = (await client.get("/api/auth/sessions", headers=bearer(alice))).json()
    for session_id in (alices["id"], 999_999):
        r = await client.delete(f"/api/auth/sessions/{session_id}", headers=bearer(bob))
        assert r.status_code == 404, r.text
        assert r.json()["detail"]
    assert (await client.get("/api/users/me", headers=bearer(alice))).status_code == 200
    for bad in ("abc", "0", str(2**40)):
        r = await client.delete(f"/api/auth/sessions/{bad}", headers=bearer(bob))
        assert r.status_code == 422, (bad, r.text)


async def test_ending_every_session_signs_out_tokens_and_cookies(client) -> None:
    email = await register(client)  # the dashboard's cookie
    token = await token_for(client, email)
    cookie = client.cookies["session"]
    assert (await client.delete("/api/auth/sessions", headers=bearer(token))).status_code == 204
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 401
    dashboard = await client.get("/dashboard", cookies={"session": cookie})
    assert dashboard.status_code == 303
    assert dashboard.headers["location"].startswith("/login")


async def test_dashboard_sign_out_revokes_the_cookie_it_held(client) -> None:
    """Finding 11: sign-out only cleared the cookie; a copy of it (or its token as a Bearer)
    kept working."""
    email = await register(client)
    cookie = client.cookies["session"]
    assert jwt.decode(cookie, SECRET, algorithms=["HS256"])["sid"]
    listed = await client.get("/api/auth/sessions", headers=bearer(cookie))
    assert [row["kind"] for row in listed.json()] == ["dashboard"]

    out = await client.post("/logout", data={"csrf_token": await page_token(client)})
    assert out.status_code == 303
    assert (await client.get("/api/users/me", headers=bearer(cookie))).status_code == 401
    client.cookies.clear()
    replay = await client.get("/dashboard", cookies={"session": cookie})
    assert replay.status_code == 303
    # And signing in again works as before.
    form = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(await client.get("/login"))}
    assert (await client.post("/login", data=form)).status_code == 303


async def test_password_change_ends_every_session(client) -> None:
    email, _ = await _account(client)
    token, other = await token_for(client, email), await token_for(client, email)
    body = {"current_password": PASSWORD, "new_password": "another good password"}
    r = await client.post("/api/users/me/password", json=body, headers=bearer(token))
    assert r.status_code == 204, r.text
    for t in (token, other):
        assert (await client.get("/api/users/me", headers=bearer(t))).status_code == 401
    assert (await client.get("/api/auth/sessions", headers=bearer(token))).status_code == 401


async def test_last_used_is_written_at_most_once_a_minute(client, app) -> None:
    email, _ = await _account(client)
    token = await token_for(client, email)
    sid = jwt.decode(token, SECRET, algorithms=["HS256"])["sid"]

    async def last_used():  # type: ignore[no-untyped-def]
        async with app.runtime.sessionmaker() as session:
            row = await session.scalar(select(AuthSession).where(AuthSession.sid == sid))
            return row.last_used_at

    first = await last_used()
    for _ in range(3):
        assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 200
    assert await last_used() == first
    # Over a minute later, the next request records the use.
    async with app.runtime.sessionmaker() as session, session.begin():
        earlier = utcnow() - timedelta(minutes=2)
        await session.execute(
            update(AuthSession).where(AuthSession.sid == sid).values(last_used_at=earlier)
        )
    assert (await client.get("/api/users/me", headers=bearer(token))).status_code == 200
    assert await last_used() > first


async def test_an_api_key_on_users_me_answers_its_user(client) -> None:
    """Finding 12 (part): an API key got 401 here. Now: 200 and the key's user; what keys may
    never do (change the password, manage sessions) answers a clear 403, not 401."""
    email, user_id = await _account(client)
    headers = bearer(await token_for(client, email))
    created = await client.post(
        "/api/keys", json={"name": "script", "scopes": ["links:read"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    me = await client.get("/api/users/me", headers=key)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_id and me.json()["email"] == email
    body = {"current_password": PASSWORD, "new_password": "another good password"}
    for method, path, json in (
        ("POST", "/api/users/me/password", body),
        ("GET", "/api/auth/sessions", None),
        ("POST", "/api/auth/logout", None),
    ):
        r = await client.request(method, path, json=json, headers=key)
        assert r.status_code == 403, (path, r.text)
        assert "API key" in r.json()["detail"]


async def _cookie_and_token(client: httpx.AsyncClient) -> tuple[str, str, str]:
    """A new account's dashboard cookie and bearer token (two sessions), and its email."""
    email = await register(client)
    cookie = client.cookies["session"]
    client.cookies.clear()
    return email, cookie, await token_for(client, email)


async def _both_refused(client: httpx.AsyncClient, cookie: str, token: str) -> None:
    for credential in (cookie, token):
        me = await client.get("/api/users/me", headers=bearer(credential))
        assert me.status_code == 401, me.text
    page = await client.get("/dashboard", cookies={"session": cookie})
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_a_password_change_ends_the_dashboard_cookie_and_every_token(client) -> None:
    _, cookie, token = await _cookie_and_token(client)
    body = {"current_password": PASSWORD, "new_password": "another good password"}
    r = await client.post("/api/users/me/password", json=body, headers=bearer(token))
    assert r.status_code == 204, r.text
    await _both_refused(client, cookie, token)


async def test_disabling_a_user_ends_the_dashboard_cookie_and_every_token(client) -> None:
    admin = await make_user(client, admin=True)
    _, cookie, token = await _cookie_and_token(client)
    user_id = (await client.get("/api/users/me", headers=bearer(token))).json()["id"]
    r = await client.patch(f"/api/admin/users/{user_id}", json={"is_active": False}, headers=admin)
    assert r.status_code == 200, r.text
    await _both_refused(client, cookie, token)
    # Enabling the account again does not bring the old sessions back.
    r = await client.patch(f"/api/admin/users/{user_id}", json={"is_active": True}, headers=admin)
    assert r.status_code == 200, r.text
    await _both_refused(client, cookie, token)
