"""The reset pages over HTTP (both storage modes): the forms, their CSRF tokens and answers,
and `shortener reset-link` for installs without mail."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from shortener.cli import main
from shortener.config import Settings
from tests.auth.test_password_reset import NEW_PASSWORD, RESET, bearer
from tests.factories import PASSWORD, new_email, token_for
from tests.mailbox import Mailbox, link_in
from tests.web.test_pages import HTML, csrf_of, field_error, register


@pytest.fixture
def settings(make_settings: Any, mailbox: Mailbox) -> Settings:
    return make_settings(smtp_url=mailbox.url)  # type: ignore[no-any-return]


def local(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def test_the_sign_in_page_offers_a_reset(client: httpx.AsyncClient) -> None:
    login = await client.get("/login")
    assert 'href="/forgot-password"' in login.text
    assert "Forgot password?" in login.text


async def test_forgot_reset_and_sign_in_through_the_pages(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = await register(client)
    cookie = client.cookies["session"]

    form = await client.get("/forgot-password")
    bad = await client.post(
        "/forgot-password", data={"email": "not an address", "csrf_token": csrf_of(form)}
    )
    assert bad.status_code == 422
    assert field_error(bad, "email")
    sent = await client.post("/forgot-password", data={"email": email, "csrf_token": csrf_of(form)})
    assert sent.status_code == 303
    assert sent.headers["location"] == "/forgot-password/sent"
    assert "Check your mail" in (await client.get("/forgot-password/sent")).text

    link = link_in(await mailbox.wait_for(email, RESET))
    page = await client.get(local(link))
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    token = urlsplit(link).query.removeprefix("token=")
    assert f'name="token" value="{token}"' in page.text

    short = await client.post(
        "/reset", data={"token": token, "password": "short", "csrf_token": csrf_of(page)}
    )
    assert short.status_code == 422
    assert "at least 8 characters" in field_error(short, "password")
    done = await client.post(
        "/reset", data={"token": token, "password": NEW_PASSWORD, "csrf_token": csrf_of(page)}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    # This browser's own session ended with every other.
    assert (await client.get("/api/users/me", headers=bearer(cookie))).status_code == 401
    login = await client.get("/login")
    assert "Your password is changed" in login.text
    signed_in = await client.post(
        "/login", data={"email": email, "password": NEW_PASSWORD, "csrf_token": csrf_of(login)}
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard"

    page = await client.get(local(link))  # signed in now: the form's token is the session's
    again = await client.post(
        "/reset", data={"token": token, "password": NEW_PASSWORD, "csrf_token": csrf_of(page)}
    )
    assert again.status_code == 410
    assert "Ask for a new link" in again.text
    for forged in ("", "nope", "x" * 300):
        r = await client.post(
            "/reset", data={"token": forged, "password": NEW_PASSWORD, "csrf_token": csrf_of(page)}
        )
        assert r.status_code == 410, forged


async def test_the_forms_need_their_csrf_token(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    await client.get("/forgot-password")  # the CSRF seed cookie
    for path, data in [
        ("/forgot-password", {"email": email}),
        ("/reset", {"token": "t", "password": NEW_PASSWORD}),
        ("/forgot-password", {"email": email, "csrf_token": "0" * 64}),
    ]:
        r = await client.post(path, data=data, headers=HTML)
        assert r.status_code == 403, (path, r.text)
    assert mailbox.messages(email)[1:] == []  # the verification mail at most, no reset


async def test_reset_link_prints_a_link_for_an_admin_to_hand_over(
    client: httpx.AsyncClient, cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    old = await token_for(client, email)
    # The CLI runs its own event loop: in a thread, as from a shell beside the server.
    assert await asyncio.to_thread(main, ["reset-link", email.upper()]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("http://short.test/reset?token=")
    token = urlsplit(link).query.removeprefix("token=")
    body = {"token": token, "password": NEW_PASSWORD}
    assert (await client.post("/api/auth/password-reset/confirm", json=body)).status_code == 204
    assert (await client.get("/api/users/me", headers=bearer(old))).status_code == 401
    await token_for(client, email, NEW_PASSWORD)

    assert await asyncio.to_thread(main, ["reset-link", "nobody@example.com"]) == 1
    assert "no active account nobody@example.com" in capsys.readouterr().err
