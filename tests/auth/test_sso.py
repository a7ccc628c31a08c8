"""Single sign-on over HTTP against a real OpenID provider (tests/oidc/provider.py), in both
storage modes: the app's side through httpx, the provider's sign-in page through a second
client acting as the browser there. tests/web/test_sso_browser.py does it in Chromium."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from shortener.config import ConfigError, load_settings
from shortener.doctor import check_sso
from shortener.main import create_app
from shortener.models import AuditEvent, User
from shortener.web.sso_pages import STATE_AUDIENCE
from tests.auth.test_two_factor import code_at
from tests.conftest import LIVE_TIMEOUT
from tests.oidc.provider import Provider, running_provider
from tests.processes import free_port
from tests.web.test_pages import csrf_of, register
from tests.web.test_two_factor_pages import PENDING, turn_on_in_pages

# A loopback address, as the provider's clients are registered with (any port).
APP_URL = "http://127.0.0.1:8765"
CALLBACK_PATH = "/login/oidc/callback"
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@contextlib.asynccontextmanager
async def sso_app(make_settings: Any, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with single sign-on set up, and a client acting as the browser on its side."""
    settings = make_settings(base_url=APP_URL, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=APP_URL, headers=HTML) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def callback_url(client: httpx.AsyncClient, login: str, next_path: str = "") -> str:
    """Start at /login/oidc, sign in as `login` on the provider's page; where it sends back."""
    start = await client.get("/login/oidc", params={"next": next_path} if next_path else None)
    assert start.status_code == 303, start.text
    location = start.headers["location"]
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["redirect_uri"] == APP_URL + CALLBACK_PATH
    async with httpx.AsyncClient(timeout=LIVE_TIMEOUT) as at_provider:
        page = await at_provider.get(location, follow_redirects=True)
        assert page.status_code == 200, page.text
        action = FORM_ACTION.search(page.text)
        assert action, page.text
        answer = await at_provider.post(
            page.url.join(action.group(1)),
            data={"login": login, "password": "anything"},
        )
        while answer.is_redirect and not answer.headers["location"].startswith(APP_URL):
            answer = await at_provider.get(answer.url.join(answer.headers["location"]))
        assert answer.is_redirect, answer.text
    return str(answer.headers["location"])


async def sso_sign_in(client: httpx.AsyncClient, login: str, next_path: str = "") -> httpx.Response:
    back = urlsplit(await callback_url(client, login, next_path))
    assert back.path == CALLBACK_PATH
    return await client.get(f"{back.path}?{back.query}")


async def events(client: httpx.AsyncClient, action: str) -> list[AuditEvent]:
    async with client.app.runtime.sessionmaker() as session:  # type: ignore[attr-defined]
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.scalars())


async def user_named(client: httpx.AsyncClient, email: str) -> User | None:
    async with client.app.runtime.sessionmaker() as session:  # type: ignore[attr-defined]
        rows = await session.execute(select(User).where(User.email == email))
        return rows.scalar_one_or_none()


async def test_a_verified_address_signs_in_as_its_account(make_settings, provider) -> None:
    async with sso_app(make_settings, **provider.settings()) as client:
        login = await client.get("/login")
        assert "Sign in with single sign-on" in login.text
        assert 'href="/login/oidc"' in login.text
        await register(client, "ada@example.com")
        client.cookies.clear()

        done = await sso_sign_in(client, "ada", next_path="/dashboard/keys")
        assert (done.status_code, done.headers["location"]) == (303, "/dashboard/keys")
        assert "session" in done.cookies
        assert "sso_state" not in client.cookies  # used up
        page = await client.get("/dashboard/keys")
        assert page.status_code == 200 and "ada@example.com" in page.text
        # The provider proved the address.
        user = await user_named(client, "ada@example.com")
        assert user is not None and user.email_verified
        (sso,) = await events(client, "auth.sso")
        assert sso.actor == "ada@example.com" and sso.detail["created"] is False  # type: ignore[index]
        assert any(e.detail == {"kind": "dashboard"} for e in await events(client, "auth.sign_in"))

        # `next` may only stay on this site.
        client.cookies.clear()
        away = await sso_sign_in(client, "ada", next_path="//evil.example/x")
        assert away.headers["location"] == "/dashboard"


async def test_a_public_client_signs_in_with_pkce_alone(make_settings, provider) -> None:
    async with sso_app(make_settings, **provider.settings(public=True, signup=True)) as client:
        done = await sso_sign_in(client, "ada")
        assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
        assert (await client.get("/dashboard")).status_code == 200


async def test_an_unknown_address_gets_an_account_only_when_signup_is_on(
    make_settings, provider
) -> None:
    async with sso_app(make_settings, **provider.settings(signup=False)) as client:
        refused = await sso_sign_in(client, "newcomer")
        assert refused.status_code == 403
        assert "Ask an administrator to create your account" in refused.text
        assert "session" not in refused.cookies
        assert await user_named(client, "newcomer@example.com") is None
        (failed,) = await events(client, "auth.sso_failed")
        assert failed.target == "newcomer@example.com"
        assert failed.detail["reason"] == "no_account"  # type: ignore[index]

    async with sso_app(make_settings, **provider.settings(signup=True)) as client:
        done = await sso_sign_in(client, "newcomer")
        assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
        user = await user_named(client, "newcomer@example.com")
        assert user is not None and user.email_verified and not user.is_admin
        (sso,) = await events(client, "auth.sso")
        assert sso.detail["created"] is True  # type: ignore[index]
        # Its random password is nobody's: a password sign-in with a guess fails.
        token = await client.post(
            "/api/auth/token", data={"username": "newcomer@example.com", "password": ""}
        )
        assert token.status_code in (401, 422)


async def test_an_unverified_address_is_refused_even_for_an_existing_account(
    make_settings, provider
) -> None:
    async with sso_app(make_settings, **provider.settings(signup=True)) as client:
        await register(client, "mallory@example.com")
        client.cookies.clear()
        refused = await sso_sign_in(client, "mallory")
        assert refused.status_code == 403
        assert "has not verified the e-mail address mallory@example.com" in refused.text
        assert "session" not in refused.cookies
        (failed,) = await events(client, "auth.sso_failed")
        assert failed.detail["reason"] == "email_not_verified"  # type: ignore[index]


async def test_a_disabled_account_is_refused(make_settings, provider) -> None:
    async with sso_app(make_settings, **provider.settings()) as client:
        await register(client, "disabled@example.com")
        async with client.app.runtime.sessionmaker() as session, session.begin():  # type: ignore[attr-defined]
            await session.execute(
                update(User).where(User.email == "disabled@example.com").values(is_active=False)
            )
        client.cookies.clear()
        refused = await sso_sign_in(client, "disabled")
        assert refused.status_code == 403 and "is disabled" in refused.text


async def test_two_factor_is_still_asked(make_settings, provider) -> None:
    async with sso_app(make_settings, **provider.settings()) as client:
        await register(client, "twofa@example.com")
        secret, _codes = await turn_on_in_pages(client)
        client.cookies.clear()

        step = await sso_sign_in(client, "twofa", next_path="/dashboard/keys")
        assert step.status_code == 200
        assert "Two-factor code" in step.text
        assert "session" not in step.cookies  # not signed in yet
        pending = PENDING.search(step.text)
        assert pending
        form = {"pending": pending.group(1), "next": "/dashboard/keys", "otp": code_at(secret, 1)}
        done = await client.post("/login/2fa", data={**form, "csrf_token": csrf_of(step)})
        assert (done.status_code, done.headers["location"]) == (303, "/dashboard/keys")
        assert (await client.get("/dashboard/keys")).status_code == 200


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


async def test_a_callback_this_browser_did_not_start_is_refused(make_settings, provider) -> None:
    async with sso_app(make_settings, **provider.settings()) as client:
        await register(client, "ada@example.com")
        client.cookies.clear()
        back = await callback_url(client, "ada")

        tampered = await client.get(_with(back, state="someone-elses-state"))
        assert tampered.status_code == 400
        assert "state is not the one this browser started" in tampered.text
        assert "session" not in tampered.cookies

        transport = client._transport  # the same app, another browser (no cookies)
        async with httpx.AsyncClient(transport=transport, base_url=APP_URL, headers=HTML) as other:
            elsewhere = await other.get(back)
        assert elsewhere.status_code == 400 and "has expired" in elsewhere.text

        wrong_code = await client.get(_with(back, code="not-the-code"))
        assert wrong_code.status_code == 400
        assert "refused the sign-in code (invalid_grant" in wrong_code.text

        # The right state and code still work after those tries... once.
        done = await client.get(back)
        assert done.status_code == 303 and "session" in done.cookies
        replay = await client.get(back)
        assert replay.status_code == 400 and "has expired" in replay.text
        reasons = [e.detail["reason"] for e in await events(client, "auth.sso_failed")]  # type: ignore[index]
        assert reasons == ["refused"] * 4


async def test_the_provider_saying_no_is_a_page_that_says_so(make_settings, provider) -> None:
    async with sso_app(make_settings, **provider.settings()) as client:
        denied = await client.get(CALLBACK_PATH, params={"error": "access_denied", "state": "x"})
        assert denied.status_code == 400
        assert "cancelled or refused at your single sign-on provider" in denied.text
        odd = await client.get(
            CALLBACK_PATH, params={"error": "Call <b>555</b>", "error_description": "free text"}
        )
        assert odd.status_code == 400
        assert "555" not in odd.text and "free text" not in odd.text
        api = await client.get(CALLBACK_PATH, headers={"accept": "application/json"})
        assert api.status_code == 400 and "expired" in api.json()["detail"]


async def test_an_unreachable_provider_is_a_502_page(make_settings) -> None:
    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with sso_app(make_settings, oidc_issuer=issuer, oidc_client_id="x") as client:
        answer = await client.get("/login/oidc")
        assert answer.status_code == 502
        assert f"the single sign-on provider {issuer} could not be reached" in answer.text
        assert "Traceback" not in answer.text


async def test_without_settings_there_is_no_single_sign_on(client) -> None:
    assert "single sign-on" not in (await client.get("/login", headers=HTML)).text
    assert (await client.get("/login/oidc", headers=HTML)).status_code == 404
    assert (await client.get(CALLBACK_PATH, headers=HTML)).status_code == 404


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"oidc_issuer": "https://id.example.com"}, "OIDC_CLIENT_ID is not"),
        ({"oidc_client_id": "x"}, "OIDC_ISSUER is not"),
        ({"oidc_client_secret": "s"}, "OIDC_CLIENT_SECRET is set but"),
        ({"oidc_issuer": "id.example.com", "oidc_client_id": "x"}, "OIDC_ISSUER must be"),
    ],
)
def test_half_a_configuration_is_refused_at_start_up(given: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**given)
    # A public client (no secret) is a whole configuration.
    assert load_settings(oidc_issuer="https://id.example.com", oidc_client_id="x").sso_enabled


def test_doctor_says_what_to_register_at_the_provider() -> None:
    assert check_sso(load_settings()) == []
    settings = load_settings(
        base_url="https://sho.rt",
        oidc_issuer="http://id.example.com",
        oidc_client_id="shortener",
        environment="production",
        secret_key="k" * 48,
    )
    (said, warned) = check_sso(settings)
    assert said.level == "ok" and "public (PKCE only) client shortener" in said.what
    assert "redirect URI to register: https://sho.rt/login/oidc/callback" in said.what
    assert warned.level == "warn" and "OIDC_ISSUER is not https" in warned.what


async def test_the_nonce_and_the_pkce_verifier_are_checked(make_settings, provider) -> None:
    """Cookies made with the server's key (as only the server can) that keep the state but
    change the rest: the provider refuses a wrong verifier, we refuse an ID token whose nonce
    is not ours, and an expired cookie is refused before anything is asked."""
    async with sso_app(make_settings, **provider.settings()) as client:
        await register(client, "ada@example.com")
        key = client.app.runtime.settings.signing_key  # type: ignore[attr-defined]

        async def callback_with(**changes: Any) -> httpx.Response:
            client.cookies.clear()
            back = await callback_url(client, "ada")
            claims = jwt.decode(
                client.cookies["sso_state"], key, algorithms=["HS256"], audience=STATE_AUDIENCE
            )
            forged = jwt.encode({**claims, **changes}, key, algorithm="HS256")
            client.cookies.set("sso_state", forged)
            return await client.get(back)

        wrong_verifier = await callback_with(verifier="x" * 64)
        assert wrong_verifier.status_code == 400
        assert "refused the sign-in code (invalid_grant" in wrong_verifier.text
        wrong_nonce = await callback_with(nonce="not-the-nonce")
        assert wrong_nonce.status_code == 400
        assert "ID token does not check out" in wrong_nonce.text and "nonce" in wrong_nonce.text
        expired = await callback_with(exp=int(time.time()) - 1)
        assert expired.status_code == 400 and "has expired" in expired.text
        assert "session" not in client.cookies
        assert (await callback_with()).status_code == 303  # unchanged, it works


async def test_the_sign_in_limit_per_address_counts_single_sign_on(make_settings, provider) -> None:
    # A day's window: a fixed window's edge falling between the requests would reset it.
    limits = {"rate_limits_enabled": True, "rate_limit_login_ip": "2/1d"}
    async with sso_app(make_settings, **provider.settings(), **limits) as client:
        assert (await client.get("/login/oidc")).status_code == 303
        assert (await client.get(CALLBACK_PATH)).status_code == 400
        refused = await client.get("/login/oidc")
        assert refused.status_code == 429 and "retry-after" in refused.headers


async def test_discovery_is_kept_for_its_time_and_must_name_our_issuer(
    make_settings, provider
) -> None:
    async with sso_app(make_settings, **provider.settings()) as client:
        sso = client.app.runtime.sso  # type: ignore[attr-defined]
        assert sso.discovered_at is None  # asked on first use, not at start
        assert (await client.get("/login/oidc")).status_code == 303
        first = sso.discovered_at
        assert first is not None
        assert (await client.get("/login/oidc")).status_code == 303
        assert sso.discovered_at == first  # within the hour: not asked again
        sso.discovery_ttl = 0  # the hour is over
        assert (await client.get("/login/oidc")).status_code == 303
        assert sso.discovered_at > first

    # The same provider under another name: its document names http://localhost:PORT.
    other_name = provider.issuer.replace("localhost", "127.0.0.1")
    async with sso_app(make_settings, oidc_issuer=other_name, oidc_client_id="x") as client:
        answer = await client.get("/login/oidc")
        assert answer.status_code == 502
        assert f"names the issuer &#39;{provider.issuer}&#39;" in answer.text


async def test_the_address_may_come_in_the_id_token(make_settings) -> None:
    # This provider has no userinfo endpoint: signing in proves the ID token's claims served.
    with running_provider(claims_in_id_token=True) as provider:
        async with sso_app(make_settings, **provider.settings(signup=True)) as client:
            metadata = httpx.get(
                f"{provider.issuer}/.well-known/openid-configuration", timeout=LIVE_TIMEOUT
            ).json()
            assert "userinfo_endpoint" not in metadata
            done = await sso_sign_in(client, "newcomer")
            assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
            assert await user_named(client, "newcomer@example.com") is not None
            refused = await sso_sign_in(client, "mallory")
            assert refused.status_code == 403 and "has not verified" in refused.text


async def test_entra_ids_domain_owner_claim_stands_in_for_email_verified(make_settings) -> None:
    # Microsoft Entra ID sends work accounts' e-mail claims in the ID token, without
    # email_verified; its optional claim xms_edov says the tenant owns the address's domain.
    with running_provider(claims_in_id_token=True) as provider:
        async with sso_app(make_settings, **provider.settings(signup=True)) as client:
            done = await sso_sign_in(client, "entra")
            assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
            assert await user_named(client, "entra@example.com") is not None
            # Without it, or with it false, the address is not vouched for; and a provider's
            # own email_verified: false is never overruled by it.
            for login, email in [
                ("entra-unproven", "unproven@example.com"),
                ("entra-plain", "plain@example.com"),
                ("contradicted", "contradicted@example.com"),
            ]:
                client.cookies.clear()
                refused = await sso_sign_in(client, login)
                assert refused.status_code == 403, login
                assert f"has not verified the e-mail address {email}" in refused.text
                assert await user_named(client, email) is None
