"""Two-factor sign-in through the API: /api/auth/2fa/* and the token endpoint's `otp`."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from sqlalchemy import select

from shortener.main import create_app
from shortener.models import RecoveryCode, User
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, new_email, token_for

REQUIRED = {"detail": "two-factor code required"}


def code_at(secret: str, steps_ahead: int = 0) -> str:
    """The code of a time step from now: enabling uses the current step, and a step is never
    accepted twice, so the sign-ins after it use the next one (within the allowed drift)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


async def account(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    email = new_email()
    r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return email, {"Authorization": f"Bearer {await token_for(client, email)}"}


async def turn_on(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, list[str]]:
    """Set up and enable 2FA; (the secret, the recovery codes)."""
    setup = await client.post("/api/auth/2fa/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    enabled = await client.post(
        "/api/auth/2fa/enable", json={"code": code_at(secret)}, headers=headers
    )
    assert enabled.status_code == 200, enabled.text
    return secret, enabled.json()["recovery_codes"]


async def sign_in(client: httpx.AsyncClient, email: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/api/auth/token", data={"username": email, "password": PASSWORD, **extra}
    )


async def test_setup_answers_a_secret_an_uri_and_a_qr_code(client, app) -> None:
    email, headers = await account(client)
    r = await client.post("/api/auth/2fa/setup", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    uri = urlsplit(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["short.test"]
    assert pyotp.parse_uri(body["otpauth_uri"]).name == email
    assert body["qr_svg"].startswith("<svg") and "</svg>" in body["qr_svg"]
    # Pending: sign-in is unchanged until a code confirms the app has the secret.
    assert (await sign_in(client, email)).status_code == 200
    # Stored encrypted, and nowhere in the account's answers.
    async with app.runtime.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
    assert user.totp_secret and body["secret"] not in user.totp_secret
    assert not user.totp_enabled
    me = await client.get("/api/users/me", headers=headers)
    assert body["secret"] not in me.text and "totp" not in me.text


async def test_setup_again_replaces_a_pending_secret(client) -> None:
    _, headers = await account(client)
    first = (await client.post("/api/auth/2fa/setup", headers=headers)).json()["secret"]
    second = (await client.post("/api/auth/2fa/setup", headers=headers)).json()["secret"]
    assert first != second
    wrong = await client.post(
        "/api/auth/2fa/enable", json={"code": code_at(first)}, headers=headers
    )
    assert wrong.status_code == 422
    ok = await client.post("/api/auth/2fa/enable", json={"code": code_at(second)}, headers=headers)
    assert ok.status_code == 200, ok.text


async def test_enable_answers_recovery_codes_stored_hashed(client, app) -> None:
    _email, headers = await account(client)
    _, codes = await turn_on(client, headers)
    assert len(codes) == 10 and len(set(codes)) == 10
    async with app.runtime.sessionmaker() as session:
        stored = (await session.execute(select(RecoveryCode.code_hash))).scalars().all()
    assert len(stored) == 10
    assert not any(code.replace("-", "") in h or code in h for code in codes for h in stored)
    # Set up again while on: 409; enabling again: 409.
    again = await client.post("/api/auth/2fa/setup", headers=headers)
    assert again.status_code == 409
    assert "already on" in again.json()["detail"]
    twice = await client.post("/api/auth/2fa/enable", json={"code": "123456"}, headers=headers)
    assert twice.status_code == 409


async def test_enable_refuses_a_wrong_code_and_one_before_setup(client) -> None:
    _, headers = await account(client)
    early = await client.post("/api/auth/2fa/enable", json={"code": "123456"}, headers=headers)
    assert early.status_code == 422
    assert "set two-factor sign-in up first" in early.text
    secret = (await client.post("/api/auth/2fa/setup", headers=headers)).json()["secret"]
    right = code_at(secret)
    wrong = "000000" if right != "000000" else "111111"
    for body in ({"code": wrong}, {"code": "abc"}, {"code": ""}, {}, {"code": "1", "x": 1}):
        r = await client.post("/api/auth/2fa/enable", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
    # A code from far outside the drift window is wrong too.
    old = await client.post(
        "/api/auth/2fa/enable", json={"code": code_at(secret, -10)}, headers=headers
    )
    assert old.status_code == 422


async def test_the_2fa_routes_need_a_bearer_token(client) -> None:
    _, headers = await account(client)
    for path in ("/api/auth/2fa/setup", "/api/auth/2fa/enable", "/api/auth/2fa/disable"):
        assert (await client.post(path, json={"code": "1"})).status_code == 401
    key = await client.post("/api/keys", json={"name": "script"}, headers=headers)
    assert key.status_code == 201, key.text
    by_key = {"X-API-Key": key.json()["key"]}
    assert (await client.post("/api/auth/2fa/setup", headers=by_key)).status_code == 403


async def test_sign_in_needs_the_code_once_it_is_on(client) -> None:
    email, headers = await account(client)
    secret, _ = await turn_on(client, headers)
    missing = await sign_in(client, email)
    assert (missing.status_code, missing.json()) == (401, REQUIRED)
    assert missing.headers["www-authenticate"] == "Bearer"
    right = code_at(secret, 1)
    wrong = await sign_in(client, email, otp="000000" if right != "000000" else "111111")
    assert (wrong.status_code, wrong.json()) == (401, REQUIRED)
    # A wrong password says what it always said, code or no code.
    bad = await client.post(
        "/api/auth/token", data={"username": email, "password": "wrong password", "otp": right}
    )
    assert bad.status_code == 401
    assert bad.json() == {"detail": "incorrect email or password"}
    ok = await sign_in(client, email, otp=right)
    assert ok.status_code == 200, ok.text
    me = await client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
    )
    assert me.status_code == 200
    # The same code again, still inside its window: refused.
    replay = await sign_in(client, email, otp=right)
    assert (replay.status_code, replay.json()) == (401, REQUIRED)


async def test_one_code_sent_twice_at_once_signs_in_once(client) -> None:
    email, headers = await account(client)
    secret, _ = await turn_on(client, headers)
    code = code_at(secret, 1)
    answers = await asyncio.gather(*(sign_in(client, email, otp=code) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 401, 401, 401]


async def test_the_json_sign_in_takes_the_code_too(client) -> None:
    email, headers = await account(client)
    secret, _ = await turn_on(client, headers)
    body: dict[str, Any] = {"email": email, "password": PASSWORD}
    assert (await client.post("/api/auth/token", json=body)).json() == REQUIRED
    ok = await client.post("/api/auth/token", json={**body, "otp": code_at(secret, 1)})
    assert ok.status_code == 200, ok.text
    too_long = await client.post("/api/auth/token", json={**body, "otp": "1" * 65})
    assert too_long.status_code == 422


async def test_a_recovery_code_signs_in_once(client) -> None:
    email, headers = await account(client)
    _, codes = await turn_on(client, headers)
    # Typed without dashes and in capitals, as people copy them, it still works.
    typed = codes[0].replace("-", "").upper()
    assert (await sign_in(client, email, otp=typed)).status_code == 200
    used = await sign_in(client, email, otp=codes[0])
    assert (used.status_code, used.json()) == (401, REQUIRED)
    assert (await sign_in(client, email, otp=codes[1])).status_code == 200


async def test_disable_with_a_code_or_a_recovery_code(client) -> None:
    email, headers = await account(client)
    secret, codes = await turn_on(client, headers)
    wrong = await client.post("/api/auth/2fa/disable", json={"code": "nope"}, headers=headers)
    assert wrong.status_code == 422
    ok = await client.post("/api/auth/2fa/disable", json={"code": codes[3]}, headers=headers)
    assert ok.status_code == 204, ok.text
    assert (await sign_in(client, email)).status_code == 200
    off = await client.post("/api/auth/2fa/disable", json={"code": codes[4]}, headers=headers)
    assert off.status_code == 422
    assert "not on" in off.text
    # On again with a new secret: the old recovery codes are gone, a TOTP code turns it off.
    secret, new_codes = await turn_on(client, headers)
    assert not set(new_codes) & set(codes)
    assert (await sign_in(client, email, otp=codes[5])).status_code == 401
    r = await client.post(
        "/api/auth/2fa/disable", json={"code": code_at(secret, 1)}, headers=headers
    )
    assert r.status_code == 204, r.text


async def test_api_keys_keep_working_with_2fa_on(client) -> None:
    """A key is a separate credential made while signed in (SECURITY.md): 2FA guards sign-in."""
    _, headers = await account(client)
    key = await client.post("/api/keys", json={"name": "deploy"}, headers=headers)
    await turn_on(client, headers)
    me = await client.get("/api/users/me", headers={"X-API-Key": key.json()["key"]})
    assert me.status_code == 200


async def test_recovery_codes_still_work_after_secret_key_changes(make_settings) -> None:
    """The TOTP secret is encrypted under SECRET_KEY; recovery codes are not, so they are the
    way back in after a key change."""
    email = new_email()
    first = make_settings()
    app = create_app(first)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {await token_for(client, email)}"}
        secret, codes = await turn_on(client, headers)
    rotated = make_settings(secret_key="another-secret-key-that-is-long-enough-for-hs256")
    app = create_app(rotated)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        assert (await sign_in(client, email, otp=code_at(secret, 1))).status_code == 401
        assert (await sign_in(client, email, otp=codes[0])).status_code == 200


@pytest.fixture
def settings(make_settings, request):  # type: ignore[no-untyped-def]
    limits = getattr(request, "param", None)
    return make_settings(**limits) if limits else make_settings()


OTP_LIMITS = {
    "rate_limits_enabled": True,
    "rate_limit_login_otp": "3/1h",
    "rate_limit_login_pair": "100/1h",
    "rate_limit_login_account": "100/1h",
    "rate_limit_login_ip": "100/1h",
    "rate_limit_register_ip": "100/1h",
}


@pytest.mark.parametrize("settings", [OTP_LIMITS], indirect=True)
async def test_wrong_codes_are_limited_per_account(client) -> None:
    email, headers = await account(client)
    secret, _ = await turn_on(client, headers)
    right = code_at(secret, 1)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        assert (await sign_in(client, email, otp=wrong)).status_code == 401
    # Past the limit even the right code waits for the window: guesses are bounded.
    limited = await sign_in(client, email, otp=right)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # Turning it off with a stolen token meets the same limit.
    disable = await client.post("/api/auth/2fa/disable", json={"code": right}, headers=headers)
    assert disable.status_code == 429


@pytest.mark.parametrize("settings", [OTP_LIMITS], indirect=True)
async def test_asking_without_a_code_uses_nothing_up(client) -> None:
    """Scripts first try without a code: that is no guess and must not lock the owner out."""
    email, headers = await account(client)
    secret, _ = await turn_on(client, headers)
    for _ in range(5):
        assert (await sign_in(client, email)).json() == REQUIRED
    assert (await sign_in(client, email, otp=code_at(secret, 1))).status_code == 200


async def test_the_openapi_document_declares_every_answer(app) -> None:
    paths = app.openapi()["paths"]
    declared = {
        path: set(paths[path]["post"]["responses"])
        for path in ("/api/auth/2fa/setup", "/api/auth/2fa/enable", "/api/auth/2fa/disable")
    }
    assert {"200", "401", "403", "409", "429"} <= declared["/api/auth/2fa/setup"]
    assert {"200", "401", "403", "409", "422", "429"} <= declared["/api/auth/2fa/enable"]
    assert {"204", "401", "403", "422", "429"} <= declared["/api/auth/2fa/disable"]
    token = paths["/api/auth/token"]["post"]["requestBody"]["content"]
    for media in ("application/x-www-form-urlencoded", "application/json"):
        assert "otp" in token[media]["schema"]["properties"]


async def test_yourls_password_sign_in_does_not_get_past_2fa(client) -> None:
    """YOURLS's API takes username and password but has no field for a code: once 2FA is on,
    it answers that an API key is needed (which still works)."""
    email, headers = await account(client)
    form = {"action": "version", "format": "json", "username": email, "password": PASSWORD}
    assert (await client.post("/yourls-api.php", data=form)).status_code == 200
    await turn_on(client, headers)
    refused = await client.post("/yourls-api.php", data=form)
    assert refused.status_code == 403
    assert "API key" in refused.json()["message"]
    key = await client.post("/api/keys", json={"name": "yourls"}, headers=headers)
    by_key = {"action": "version", "format": "json", "signature": key.json()["key"]}
    assert (await client.post("/yourls-api.php", data=by_key)).status_code == 200


def test_secrets_stored_before_the_shared_sealer_still_open() -> None:
    """TOTP secrets sealed by the code before shortener/sealed.py (base64 with '=' padding)
    open as they did: nobody has to set two-factor sign-in up again after an upgrade."""
    import base64
    import hashlib
    import hmac
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from shortener.auth.totp import _open, _seal

    signing_key, secret = "k" * 40, pyotp.random_base32(length=40)
    key = hmac.new(signing_key.encode(), b"shortener totp secret", hashlib.sha256).digest()
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, secret.encode(), b"user:7")
    before = "v1:" + base64.urlsafe_b64encode(sealed).decode()  # the old format, padded
    assert before.endswith("=")
    assert _open(User(id=7, totp_secret=before), signing_key) == secret
    assert _open(User(id=8, totp_secret=before), signing_key) is None  # bound to the user
    now = _seal(secret, user_id=7, signing_key=signing_key)
    assert _open(User(id=7, totp_secret=now), signing_key) == secret
    assert _open(User(id=7, totp_secret=now), "another key" * 4) is None
