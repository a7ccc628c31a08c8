"""Tokens that must not get in, and a password change that revokes older tokens."""

from __future__ import annotations

import base64
import functools
import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from shortener.models import User
from tests.factories import PASSWORD, make_user, new_email, token_for

# Forging HS384/HS512 tokens with the (shorter) test key makes PyJWT warn; that is the point.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = "test-secret-key-that-is-long-enough-for-hs256"  # conftest's SECRET_KEY


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user_id: int, sid: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sid": sid,  # the user's real sign-in session: each forgery fails for its own reason
        "sub": str(user_id),
        "ver": 0,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


@functools.cache
def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


async def _user(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, str]:
    """The user's id and the session id its real token carries."""
    r = await client.get("/api/users/me", headers=headers)
    assert r.status_code == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    return int(r.json()["id"]), str(sid)


def _forgeries(uid: int, sid: str) -> dict[str, str]:
    past = datetime.now(UTC) - timedelta(minutes=1)
    return {
        "alg none": _unsigned(_claims(uid, sid)),
        "alg NONE": _unsigned(_claims(uid, sid), alg="NONE"),
        "alg none with a signature": _unsigned(_claims(uid, sid)) + _b64(b"sig"),
        "HS512 with the right key": jwt.encode(_claims(uid, sid), SECRET, algorithm="HS512"),
        "HS384 with the right key": jwt.encode(_claims(uid, sid), SECRET, algorithm="HS384"),
        "RS256": jwt.encode(_claims(uid, sid), _rsa_pem(), algorithm="RS256"),
        "a foreign key": jwt.encode(_claims(uid, sid), "someone-elses-key" * 3, algorithm="HS256"),
        "no exp": jwt.encode(_claims(uid, sid, exp=None), SECRET, algorithm="HS256"),
        "past exp": jwt.encode(
            _claims(uid, sid, exp=int(past.timestamp())), SECRET, algorithm="HS256"
        ),
        "no iat": jwt.encode(_claims(uid, sid, iat=None), SECRET, algorithm="HS256"),
        "no sub": jwt.encode(_claims(uid, sid, sub=None), SECRET, algorithm="HS256"),
        "sub not a number": jwt.encode(_claims(uid, sid, sub="admin"), SECRET, algorithm="HS256"),
        "sub of nobody": jwt.encode(_claims(uid, sid, sub="999999"), SECRET, algorithm="HS256"),
        "an old token version": jwt.encode(_claims(uid, sid, ver=-1), SECRET, algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty signature": jwt.encode(_claims(uid, sid), SECRET, algorithm="HS256").rsplit(".", 1)[
            0
        ]
        + ".",
    }


with warnings.catch_warnings():  # at collection, outside the filter of pytestmark
    warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
    FORGERY_NAMES = list(_forgeries(1, "sid"))


@pytest.mark.parametrize("name", FORGERY_NAMES)
async def test_forged_or_stale_tokens_are_401(client: httpx.AsyncClient, name: str) -> None:
    headers = await make_user(client)
    uid, sid = await _user(client, headers)
    token = _forgeries(uid, sid)[name]
    r = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, (name, r.text)
    assert r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"


async def test_a_well_made_token_gets_in(client: httpx.AsyncClient) -> None:
    """The control for the table above: the same claims, rightly signed, are accepted."""
    headers = await make_user(client)
    uid, sid = await _user(client, headers)
    token = jwt.encode(_claims(uid, sid), SECRET, algorithm="HS256")
    r = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


async def _set_user(app: Any, uid: int, **values: Any) -> None:
    async with app.runtime.sessionmaker() as session, session.begin():
        user = (await session.execute(select(User).where(User.id == uid))).scalar_one()
        if values.pop("delete", False):
            await session.delete(user)
        for name, value in values.items():
            setattr(user, name, value)


async def test_a_disabled_users_token_is_401(client: httpx.AsyncClient, app: Any) -> None:
    headers = await make_user(client)
    await _set_user(app, (await _user(client, headers))[0], is_active=False)
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    assert (await client.get("/api/links", headers=headers)).status_code == 401


async def test_a_deleted_users_token_is_401(client: httpx.AsyncClient, app: Any) -> None:
    headers = await make_user(client)
    await _set_user(app, (await _user(client, headers))[0], delete=True)
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_changing_the_password_revokes_older_tokens(client: httpx.AsyncClient) -> None:
    email = new_email()
    old = await make_user(client, email=email)
    also_old = {"Authorization": f"Bearer {await token_for(client, email)}"}
    new_password = "a brand new passphrase"
    r = await client.post(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=old,
    )
    assert r.status_code == 204, r.text
    for headers in (old, also_old):
        assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    r = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert r.status_code == 401
    fresh = {"Authorization": f"Bearer {await token_for(client, email, new_password)}"}
    assert (await client.get("/api/users/me", headers=fresh)).status_code == 200


async def test_a_password_change_needs_the_current_password(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    r = await client.post(
        "/api/users/me/password",
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
        headers=headers,
    )
    assert r.status_code == 403
    assert "current password" in r.json()["detail"]
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": PASSWORD, "new_password": "short"},
        {"current_password": PASSWORD, "new_password": "x" * 1025},
        {"current_password": PASSWORD},
        {"current_password": PASSWORD, "new_password": "long enough", "extra": 1},
    ],
)
async def test_a_new_password_must_be_acceptable(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    headers = await make_user(client)
    r = await client.post("/api/users/me/password", json=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"]
    assert (await client.get("/api/users/me", headers=headers)).status_code == 200


async def test_a_password_change_needs_a_token(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert r.status_code == 401


async def test_registration_enforces_the_minimum_length(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/register", json={"email": new_email(), "password": "1234567"})
    assert r.status_code == 422
