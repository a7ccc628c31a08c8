"""Two-factor sign-in in the dashboard over HTTP (both storage modes): the second step of
/login, and /dashboard/security (set up, turn on, turn off)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import update

from shortener.models import User
from tests.auth.test_two_factor import code_at
from tests.factories import PASSWORD
from tests.web.test_pages import csrf_of, register

SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
PENDING = re.compile(r'name="pending" value="([^"]+)"')


async def turn_on_in_pages(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Set up and turn on 2FA through the security page; (secret, recovery codes)."""
    page = await client.get("/dashboard/security")
    assert page.status_code == 200 and "Off." in page.text
    r = await client.post("/dashboard/security/2fa/setup", data={"csrf_token": csrf_of(page)})
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard/security")
    return await enable_pending(client)


async def enable_pending(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Turn on the secret the security page offers; (secret, recovery codes)."""
    page = await client.get("/dashboard/security")
    match = SECRET.search(page.text)
    assert match, page.text
    assert 'src="data:image/svg+xml;base64,' in page.text
    done = await client.post(
        "/dashboard/security/2fa/enable",
        data={"csrf_token": csrf_of(page), "code": code_at(match.group(1))},
    )
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.text)
    assert len(codes) == 10
    return match.group(1), codes


async def start_login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    client.cookies.clear()
    login = await client.get("/login")
    return await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": "/dashboard/keys"}
        | {"csrf_token": csrf_of(login)},
    )


async def test_sign_in_asks_for_the_code_on_a_second_step(client) -> None:
    email = await register(client)
    secret, codes = await turn_on_in_pages(client)
    step = await start_login(client, email)
    assert step.status_code == 200
    assert "session" not in step.cookies  # not signed in yet
    assert PASSWORD not in step.text
    pending = PENDING.search(step.text)
    assert pending
    form = {"pending": pending.group(1), "next": "/dashboard/keys", "csrf_token": csrf_of(step)}

    no_csrf = await client.post("/login/2fa", data={**form, "csrf_token": "", "otp": "1"})
    assert no_csrf.status_code == 403
    wrong = await client.post("/login/2fa", data={**form, "otp": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right." in wrong.text
    assert "session" not in wrong.cookies
    right = await client.post("/login/2fa", data={**form, "otp": code_at(secret, 1)})
    assert (right.status_code, right.headers["location"]) == (303, "/dashboard/keys")
    assert (await client.get("/dashboard/keys")).status_code == 200

    # A recovery code does it too, once.
    step = await start_login(client, email)
    form |= {"pending": PENDING.search(step.text).group(1), "csrf_token": csrf_of(step)}  # type: ignore[union-attr]
    assert (await client.post("/login/2fa", data={**form, "otp": codes[0]})).status_code == 303
    step = await start_login(client, email)
    form |= {"pending": PENDING.search(step.text).group(1), "csrf_token": csrf_of(step)}  # type: ignore[union-attr]
    assert (await client.post("/login/2fa", data={**form, "otp": codes[0]})).status_code == 400


async def test_a_forged_or_void_pending_sign_in_starts_over(client, app) -> None:
    email = await register(client)
    await turn_on_in_pages(client)
    step = await start_login(client, email)
    pending = PENDING.search(step.text).group(1)  # type: ignore[union-attr]
    user_id, version, expires, mac = pending.split(".")
    for forged in (
        f"{user_id}.{version}.{int(expires) + 3600}.{mac}",  # a longer life
        f"{int(user_id) + 1}.{version}.{expires}.{mac}",  # someone else
        "garbage",
        "",
    ):
        r = await client.post(
            "/login/2fa",
            data={"pending": forged, "otp": "123456", "csrf_token": csrf_of(step)},
        )
        assert (r.status_code, r.headers["location"]) == (303, "/login"), forged
    # The genuine one, once the password changed (the token version moved on): void too.
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.email == email).values(token_version=User.token_version + 1)
        )
    r = await client.post(
        "/login/2fa", data={"pending": pending, "otp": "123456", "csrf_token": csrf_of(step)}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/login")


async def test_turning_it_on_and_off_in_the_security_page(client) -> None:
    await register(client)
    page = await client.get("/dashboard/security")
    await client.post("/dashboard/security/2fa/setup", data={"csrf_token": csrf_of(page)})
    page = await client.get("/dashboard/security")
    wrong = await client.post(
        "/dashboard/security/2fa/enable", data={"csrf_token": csrf_of(page), "code": "12"}
    )
    assert wrong.status_code == 422
    assert 'id="code-error"' in wrong.text and "not right" in wrong.text
    assert SECRET.search(wrong.text)  # the same secret is offered again
    # Starting over replaces the pending secret.
    before = SECRET.search(wrong.text).group(1)  # type: ignore[union-attr]
    page = await client.get("/dashboard/security")
    await client.post("/dashboard/security/2fa/setup", data={"csrf_token": csrf_of(page)})
    secret, codes = await enable_pending(client)
    assert secret != before
    page = await client.get("/dashboard/security")
    assert "On. 10 recovery codes left." in page.text
    assert secret not in page.text and not any(code in page.text for code in codes)
    again = await client.post("/dashboard/security/2fa/setup", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409
    refused = await client.post(
        "/dashboard/security/2fa/disable", data={"csrf_token": csrf_of(page), "code": "000000"}
    )
    assert refused.status_code == 422
    off = await client.post(
        "/dashboard/security/2fa/disable", data={"csrf_token": csrf_of(page), "code": codes[2]}
    )
    assert (off.status_code, off.headers["location"]) == (303, "/dashboard/security")
    assert "Off." in (await client.get("/dashboard/security")).text
    assert (await client.post("/dashboard/security/2fa/disable", data={})).status_code == 403


async def test_the_security_page_lists_sessions_and_ends_them(client) -> None:  # type: ignore[no-untyped-def]
    """Where the user is signed in (issue 16, sessions): another browser's session and an API
    token are listed and end from the page; "Sign out everywhere" ends this browser too."""
    email = await register(client)
    token = (
        await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/users/me", headers=bearer)).status_code == 200

    page = await client.get("/dashboard/security")
    rows = re.findall(r'<tr data-session="(\d+)">(.*?)</tr>', page.text, re.S)
    assert len(rows) == 2  # this browser and the API token
    kinds = {sid: row for sid, row in rows}
    this = [sid for sid, row in rows if "this browser" in row]
    other = [sid for sid, row in rows if "API token" in row]
    assert len(this) == 1 and len(other) == 1
    assert f"/dashboard/security/sessions/{this[0]}/end" not in page.text  # "Sign out" does that
    assert "/dashboard/security/sessions/" + other[0] + "/end" in kinds[other[0]]

    ended = await client.post(
        f"/dashboard/security/sessions/{other[0]}/end", data={"csrf_token": csrf_of(page)}
    )
    assert (ended.status_code, ended.headers["location"]) == (303, "/dashboard/security")
    assert (await client.get("/api/users/me", headers=bearer)).status_code == 401
    again = await client.post(
        f"/dashboard/security/sessions/{other[0]}/end", data={"csrf_token": csrf_of(page)}
    )
    assert again.status_code == 303  # already ended: said, not a 404 page
    foreign = await client.post(
        "/dashboard/security/sessions/999999/end", data={"csrf_token": csrf_of(page)}
    )
    assert foreign.status_code == 303

    page = await client.get("/dashboard/security")
    everywhere = await client.post(
        "/dashboard/security/sessions/end-all", data={"csrf_token": csrf_of(page)}
    )
    assert (everywhere.status_code, everywhere.headers["location"]) == (303, "/login")
    after = await client.get("/dashboard/security")
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
