"""Password reset over the API: POST /api/auth/password-reset (202 whoever asks, 429) and
.../confirm (204 ending every session and token, 410 used or expired, 422), with the mail
going through a real SMTP server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from shortener.config import Settings
from shortener.main import create_app
from shortener.models import AccountToken, utcnow
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, new_email, token_for
from tests.mailbox import Mailbox, link_in
from tests.web.test_pages import register

NEW_PASSWORD = "a brand new passphrase"
RESET = "Reset your password"


@pytest.fixture
def settings(make_settings: Any, mailbox: Mailbox) -> Settings:
    return make_settings(smtp_url=mailbox.url, mail_from="Shortener <noreply@short.test>")  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def mailed_token(client: httpx.AsyncClient, mailbox: Mailbox, email: str) -> str:
    asked = await client.post("/api/auth/password-reset", json={"email": email})
    assert asked.status_code == 202, asked.text
    link = link_in(await mailbox.wait_for(email, RESET))
    assert link.startswith(f"{BASE_URL}/reset?token=")
    return token_of(link)


async def test_a_mailed_link_sets_the_password_once_and_ends_every_session(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await register(client)  # a dashboard cookie
    cookie = client.cookies["session"]
    client.cookies.clear()
    old_jwt = await token_for(client, email)

    token = await mailed_token(client, mailbox, email)
    (mail,) = mailbox.messages(email)[-1:]
    assert mail["From"] == "Shortener <noreply@short.test>"
    assert "30 minutes" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    body = {"token": token, "password": NEW_PASSWORD}
    done = await client.post("/api/auth/password-reset/confirm", json=body)
    assert done.status_code == 204, done.text

    # The old JWT and the old dashboard cookie both stop at once.
    assert (await client.get("/api/users/me", headers=bearer(old_jwt))).status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(cookie))).status_code == 401
    dashboard = await client.get("/dashboard", cookies={"session": cookie})
    assert dashboard.status_code == 303
    assert dashboard.headers["location"].startswith("/login")
    # The new password signs in; the old one does not.
    old = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert old.status_code == 401
    new_jwt = await token_for(client, email, NEW_PASSWORD)
    me = await client.get("/api/users/me", headers=bearer(new_jwt))
    # Following a mailed link proves the address as well as a verification link does.
    assert me.json()["email_verified"] is True

    again = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "another one!"}
    )
    assert again.status_code == 410, again.text
    assert "expired or has already been used" in again.json()["detail"]


async def test_unknown_addresses_get_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    known = new_email()
    assert (
        await client.post("/api/auth/register", json={"email": known, "password": PASSWORD})
    ).status_code == 201
    unknown = await client.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
    answered = await client.post("/api/auth/password-reset", json={"email": known.upper()})
    assert unknown.status_code == answered.status_code == 202
    assert unknown.content == answered.content == b""
    drop = {"date", "x-request-id"}
    assert {k: v for k, v in unknown.headers.items() if k not in drop} == {
        k: v for k, v in answered.headers.items() if k not in drop
    }
    await mailbox.wait_for(known, RESET)
    assert mailbox.messages("nobody@example.com") == []


async def test_a_disabled_account_gets_no_link(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    from tests.factories import make_user

    admin = await make_user(client, admin=True)
    email = new_email()
    created = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    user_id = created.json()["id"]
    token = await mailed_token(client, mailbox, email)
    off = await client.patch(
        f"/api/admin/users/{user_id}", json={"is_active": False}, headers=admin
    )
    assert off.status_code == 200, off.text
    # A link mailed before the account was disabled is void...
    body = {"token": token, "password": NEW_PASSWORD}
    assert (await client.post("/api/auth/password-reset/confirm", json=body)).status_code == 410
    # ... and asking again answers as for anyone, without a mail.
    before = len(mailbox.messages(email))
    assert (await client.post("/api/auth/password-reset", json={"email": email})).status_code == 202
    assert len(mailbox.messages(email)) == before


async def test_an_invalid_password_is_422_and_leaves_the_link_usable(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    token = await mailed_token(client, mailbox, email)
    for bad in ("short", "x" * 1025):
        r = await client.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": bad}
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "password"]
    body = {"token": token, "password": NEW_PASSWORD}
    assert (await client.post("/api/auth/password-reset/confirm", json=body)).status_code == 204
    await token_for(client, email, NEW_PASSWORD)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not an address"},
        {"email": "a@example.com", "extra": 1},
    ],
)
async def test_a_bad_request_for_a_link_is_422(client: httpx.AsyncClient, body: Any) -> None:
    r = await client.post("/api/auth/password-reset", json=body)
    assert r.status_code == 422, r.text


async def test_expired_unknown_and_voided_links_are_410(
    app: Any, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    confirm = "/api/auth/password-reset/confirm"

    expired = await mailed_token(client, mailbox, email)
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = await client.post(confirm, json={"token": expired, "password": NEW_PASSWORD})
    assert r.status_code == 410, r.text

    for unknown in ("nope", "x" * 128, "a\x00b"):
        r = await client.post(confirm, json={"token": unknown, "password": NEW_PASSWORD})
        assert r.status_code == 410, (unknown, r.text)
    r = await client.post(confirm, json={"token": "x" * 129, "password": NEW_PASSWORD})
    assert r.status_code == 422

    # A password changed since the link was mailed voids the link.
    voided = await mailed_token(client, mailbox, email)
    change = {"current_password": PASSWORD, "new_password": "changed by the owner"}
    jwt = await token_for(client, email)
    changed = await client.post("/api/users/me/password", json=change, headers=bearer(jwt))
    assert changed.status_code == 204
    r = await client.post(confirm, json={"token": voided, "password": NEW_PASSWORD})
    assert r.status_code == 410, r.text
    await token_for(client, email, "changed by the owner")


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
            yield c


async def test_requests_are_limited_per_address_asked_about_and_per_client(
    make_settings: Any, mailbox: Mailbox
) -> None:
    limited = make_settings(
        smtp_url=mailbox.url,
        rate_limits_enabled=True,
        rate_limit_reset_email="2/1h",
        rate_limit_reset_ip="7/1h",
    )
    async with client_for(limited) as client:
        email = new_email()
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        # Per address, whether it has an account or not (a 429 must not tell which).
        for address in (email, "nobody@example.com"):
            for _ in range(2):
                r = await client.post("/api/auth/password-reset", json={"email": address})
                assert r.status_code == 202, r.text
            r = await client.post("/api/auth/password-reset", json={"email": address.upper()})
            assert r.status_code == 429, r.text
            assert int(r.headers["retry-after"]) >= 1
            assert "too many attempts" in r.json()["detail"]
        # Per client address: every request counts, refused ones too (six so far).
        r = await client.post("/api/auth/password-reset", json={"email": "third@example.com"})
        assert r.status_code == 202, r.text
        r = await client.post("/api/auth/password-reset", json={"email": "fourth@example.com"})
        assert r.status_code == 429, r.text


async def test_without_smtp_the_answer_is_the_same_and_the_log_says_why(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_for(make_settings()) as client:
        email = new_email()
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        with caplog.at_level("WARNING", logger="shortener.auth.reset"):
            r = await client.post("/api/auth/password-reset", json={"email": email})
        assert r.status_code == 202
        assert "SMTP_URL is not set" in caplog.text
        assert "shortener reset-link" in caplog.text
        assert email not in caplog.text


async def test_a_mail_server_that_is_down_fails_no_request(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.factories import eventually
    from tests.mailbox import free_port

    down = make_settings(smtp_url=f"smtp://127.0.0.1:{free_port()}", smtp_timeout=2)
    with caplog.at_level("INFO", logger="shortener.mail"):
        async with client_for(down) as client:
            email = new_email()
            r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            assert r.status_code == 201
            r = await client.post("/api/auth/password-reset", json={"email": email})
            assert r.status_code == 202

            async def logged() -> bool:
                return caplog.text.count("mail not sent") >= 2

            await eventually(logged)
    assert "password reset for user" in caplog.text
    assert email not in caplog.text
