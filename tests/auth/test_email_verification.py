"""E-mail verification: registration mails a single-use link (when SMTP is configured),
GET /verify-email confirms the address, POST /api/auth/verify-email/resend mails a new one,
and GET /api/users/me says `email_verified`. Unverified accounts sign in as any other."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from shortener.config import Settings
from shortener.models import AccountToken, utcnow
from tests.auth.test_password_reset import bearer, client_for, token_of
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, new_email, token_for
from tests.mailbox import Mailbox, link_in
from tests.web.test_pages import register

VERIFY = "Confirm your e-mail address"


@pytest.fixture
def settings(make_settings: Any, mailbox: Mailbox) -> Settings:
    return make_settings(smtp_url=mailbox.url)  # type: ignore[no-any-return]


async def me(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    r = await client.get("/api/users/me", headers=bearer(await token_for(client, email)))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_registration_mails_a_link_that_verifies_once(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = new_email()
    r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    # Unverified, and signing in works all the same.
    assert (await me(client, email))["email_verified"] is False

    link = link_in(await mailbox.wait_for(email, VERIFY))
    assert link.startswith(f"{BASE_URL}/verify-email?token=")
    path = urlsplit(link)
    page = await client.get(f"{path.path}?{path.query}")
    assert page.status_code == 200, page.text
    assert "E-mail address confirmed" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert (await me(client, email))["email_verified"] is True

    again = await client.get(f"{path.path}?{path.query}")
    assert again.status_code == 410
    assert "not valid any more" in again.text
    # A verification token is no reset token.
    r = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": token_of(link), "password": "a brand new passphrase"},
    )
    assert r.status_code == 410


async def test_registering_through_the_dashboard_mails_the_link_too(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await register(client)
    link = link_in(await mailbox.wait_for(email, VERIFY))
    path = urlsplit(link)
    assert (await client.get(f"{path.path}?{path.query}")).status_code == 200


async def test_resend_mails_a_new_link_until_verified(
    app: Any, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    first = link_in(await mailbox.wait_for(email, VERIFY))
    # The first link ran out.
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    path = urlsplit(first)
    assert (await client.get(f"{path.path}?{path.query}")).status_code == 410

    token = await token_for(client, email)
    resent = await client.post("/api/auth/verify-email/resend", headers=bearer(token))
    assert resent.status_code == 202, resent.text

    async def second_link() -> str:
        from tests.factories import eventually

        async def arrived() -> bool:
            return len(mailbox.messages(email)) == 2

        await eventually(arrived)
        return link_in(mailbox.messages(email)[-1])

    second = await second_link()
    assert second != first
    path = urlsplit(second)
    assert (await client.get(f"{path.path}?{path.query}")).status_code == 200

    done = await client.post("/api/auth/verify-email/resend", headers=bearer(token))
    assert done.status_code == 409
    assert "already verified" in done.json()["detail"]
    assert (await client.post("/api/auth/verify-email/resend")).status_code == 401


async def test_resend_is_rate_limited(make_settings: Any, mailbox: Mailbox) -> None:
    limited = make_settings(
        smtp_url=mailbox.url, rate_limits_enabled=True, rate_limit_verify_user="1/1h"
    )
    async with client_for(limited) as client:
        email = new_email()
        await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        headers = bearer(await token_for(client, email))
        r = await client.post("/api/auth/verify-email/resend", headers=headers)
        assert r.status_code == 202
        r = await client.post("/api/auth/verify-email/resend", headers=headers)
        assert r.status_code == 429
        assert "retry-after" in r.headers


async def test_bad_links_answer_410(client: httpx.AsyncClient) -> None:
    for query in ("", "?token=", "?token=nope", "?token=" + "x" * 256):
        r = await client.get(f"/verify-email{query}")
        assert r.status_code == 410, (query, r.status_code)
    assert (await client.get("/verify-email?token=" + "x" * 257)).status_code == 422


async def test_without_smtp_nothing_is_mailed_and_resend_says_why(make_settings: Any) -> None:
    async with client_for(make_settings()) as client:
        email = new_email()
        r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201
        token = await token_for(client, email)
        me_ = await client.get("/api/users/me", headers=bearer(token))
        assert me_.json()["email_verified"] is False
        r = await client.post("/api/auth/verify-email/resend", headers=bearer(token))
        assert r.status_code == 409
        assert "SMTP_URL" in r.json()["detail"]
