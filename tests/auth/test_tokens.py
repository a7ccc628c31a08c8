"""POST /api/auth/token and GET /api/users/me: the token, its claims, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.factories import PASSWORD, make_user, new_email, token_for

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


async def _register(client) -> tuple[str, int]:
    email = new_email()
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201
    return email, response.json()["id"]


async def test_token_answers_200_with_bearer_and_expiry(client) -> None:
    email, _ = await _register(client)
    response = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 60


async def test_token_claims_are_sub_exp_iat_hs256(client, settings) -> None:
    email, user_id = await _register(client)
    token = await token_for(client, email)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user_id)
    now = datetime.now(UTC).timestamp()
    assert abs(claims["iat"] - now) < 60
    assert claims["exp"] - claims["iat"] == settings.access_token_expire_minutes * 60


async def test_email_is_matched_in_any_case(client) -> None:
    email, _ = await _register(client)
    response = await client.post(
        "/api/auth/token", data={"username": email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_unknown_email_and_wrong_password_answer_the_same_401(client) -> None:
    email, _ = await _register(client)
    wrong_password = await client.post(
        "/api/auth/token", data={"username": email, "password": "not the password"}
    )
    unknown_email = await client.post(
        "/api/auth/token", data={"username": new_email(), "password": PASSWORD}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "data", [{}, {"username": "a@example.com"}, {"password": PASSWORD}], ids=str
)
async def test_token_without_credentials_is_422(client, data) -> None:
    response = await client.post("/api/auth/token", data=data)
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize("field", ["username", "email"])
async def test_token_takes_json_with_username_or_email(client, field) -> None:
    email, _ = await _register(client)
    response = await client.post("/api/auth/token", json={field: email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == email


async def test_token_as_json_refuses_the_wrong_password_like_the_form(client) -> None:
    email, _ = await _register(client)
    response = await client.post(
        "/api/auth/token", json={"email": email, "password": "not the password"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "incorrect email or password"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"password": PASSWORD}, "`username` or as `email`"),
        ({"username": "a@example.com", "email": "a@example.com", "password": PASSWORD}, "one"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "remember": True}, "remember"),
        ([], "valid dictionary"),
    ],
    ids=str,
)
async def test_bad_json_sign_ins_are_422_with_what_is_wrong(client, body, says) -> None:
    response = await client.post("/api/auth/token", json=body)
    assert response.status_code == 422
    assert says in str(response.json()["detail"])


async def test_token_with_broken_json_is_422(client) -> None:
    response = await client.post(
        "/api/auth/token", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "not valid JSON" in str(response.json()["detail"])


async def test_token_form_still_takes_what_oauth2_clients_send(client) -> None:
    email, _ = await _register(client)
    form = {"grant_type": "password", "username": email, "password": PASSWORD, "scope": ""}
    response = await client.post("/api/auth/token", data=form)
    assert response.status_code == 200, response.text


async def test_me_answers_the_current_user(client) -> None:
    email, user_id = await _register(client)
    token = await token_for(client, email)
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email", "is_admin", "email_verified", "created_at"}
    assert body["id"] == user_id
    assert body["email_verified"] is False  # nothing mails a link without SMTP_URL
    assert body["email"] == email
    assert body["is_admin"] is False


async def test_me_of_an_admin_says_so(client) -> None:
    headers = await make_user(client, admin=True)
    response = await client.get("/api/users/me", headers=headers)
    assert response.json()["is_admin"] is True


def _forge(claims: dict[str, object], key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _now() -> datetime:
    return datetime.now(UTC)


def _alg_none(claims: dict[str, object]) -> str:
    return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]


BAD_TOKENS = {
    "garbage": lambda uid, sid: "not.a.jwt",
    "empty-segments": lambda uid, sid: "..",
    "other-key": lambda uid, sid: _forge(
        {"sub": uid, "sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)},
        key="another-secret-key-that-is-long-enough-too",
    ),
    "alg-none": lambda uid, sid: _alg_none(
        {"sub": uid, "sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)}
    ),
    "hs512": lambda uid, sid: _forge(
        {"sub": uid, "sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)},
        algorithm="HS512",
    ),
    "expired": lambda uid, sid: _forge(
        {
            "sub": uid,
            "sid": sid,
            "iat": _now() - timedelta(hours=2),
            "exp": _now() - timedelta(hours=1),
        }
    ),
    "no-exp": lambda uid, sid: _forge({"sub": uid, "sid": sid, "iat": _now()}),
    "no-sub": lambda uid, sid: _forge(
        {"sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)}
    ),
    "sub-not-a-number": lambda uid, sid: _forge(
        {"sub": "admin", "sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)}
    ),
    # Issued before sessions existed (no sid): nothing could revoke it, so it is refused.
    "no-sid": lambda uid, sid: _forge(
        {"sub": uid, "iat": _now(), "exp": _now() + timedelta(hours=1)}
    ),
    "unknown-sid": lambda uid, sid: _forge(
        {"sub": uid, "sid": sid + "x", "iat": _now(), "exp": _now() + timedelta(hours=1)}
    ),
    "unknown-user": lambda uid, sid: _forge(
        {"sub": "987654", "sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)}
    ),
}


async def _signed_in(client) -> tuple[str, str]:
    """A new user's id and the sid of a session of theirs."""
    email, user_id = await _register(client)
    claims = jwt.decode(await token_for(client, email), SECRET, algorithms=["HS256"])
    return str(user_id), claims["sid"]


async def test_a_forged_token_with_the_right_key_works(client) -> None:
    """The control for the table below: the forging itself is sound."""
    user_id, sid = await _signed_in(client)
    token = _forge({"sub": user_id, "sid": sid, "iat": _now(), "exp": _now() + timedelta(hours=1)})
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_me_refuses_bad_tokens_with_401(client, kind) -> None:
    user_id, sid = await _signed_in(client)
    token = BAD_TOKENS[kind](user_id, sid)
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer"],
    ids=["none", "empty", "scheme-only", "scheme-space", "basic", "lowercase-scheme-only"],
)
async def test_me_without_a_token_is_401(client, header) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await client.get("/api/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]


async def test_links_api_needs_a_token(client) -> None:
    for method, path in (
        ("GET", "/api/links"),
        ("POST", "/api/links"),
        ("GET", "/api/links/abc"),
        ("PATCH", "/api/links/abc"),
        ("DELETE", "/api/links/abc"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path, response.status_code)
