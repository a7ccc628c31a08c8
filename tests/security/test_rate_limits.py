"""Rate limits: sign-in per IP and per account, registration, link creation, link passwords."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from shortener.main import create_app
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, make_link, make_user, new_email

# Fixed windows of an hour: a minute window could roll over in the middle of a test and
# reset a counter the test is filling (seen once in a parallel run).
LIMITS = {
    "rate_limits_enabled": True,
    "rate_limit_login_ip": "6/1h",
    "rate_limit_login_pair": "3/1h",
    "rate_limit_login_account": "3/1h",
    "rate_limit_register_ip": "3/1h",
    "rate_limit_links_user": "4/1h",
    "rate_limit_links_ip": "1000/1h",
    "rate_limit_link_password": "3/1h",
}


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(**LIMITS)


def client_from(app: object, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture
async def elsewhere(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client from another IP address."""
    async with client_from(app, "203.0.113.7") as c:
        yield c


def assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert "too many" in response.json()["detail"]


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/token", data={"username": email, "password": password})


async def test_failed_sign_ins_lock_out_the_guessing_address_only(
    client: httpx.AsyncClient, elsewhere: httpx.AsyncClient
) -> None:
    email = new_email()
    r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201
    for _ in range(3):
        assert (await _login(client, email, "wrong password")).status_code == 401
    assert_429(await _login(client, email, "wrong password"))
    # Refused before any check: the right password from the guessing address waits too ...
    assert_429(await _login(client, email, PASSWORD))
    # ... but the owner, from their own address, is not locked out by someone else's guesses.
    assert (await _login(elsewhere, email.upper(), PASSWORD)).status_code == 200


async def test_guesses_from_many_addresses_never_lock_the_owner_out(make_settings) -> None:
    """Finding 9: ten wrong passwords from other addresses, then the owner signs in at once
    (slowed down by the per-account delay, never refused)."""
    slowdown = 0.2
    app = create_app(make_settings(**LIMITS, login_slowdown_seconds=slowdown))
    async with app.router.lifespan_context(app), client_from(app, "198.51.100.77") as owner:
        email = new_email()
        r = await owner.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201
        for i in range(10):
            async with client_from(app, f"203.0.113.{i + 10}") as stranger:
                assert (await _login(stranger, email, "wrong password")).status_code == 401
        started = time.monotonic()
        assert (await _login(owner, email, PASSWORD)).status_code == 200
        # The account is under attack: its attempts are slowed down, not refused.
        assert time.monotonic() - started >= slowdown


async def test_successful_sign_ins_do_not_count_against_the_account(
    client: httpx.AsyncClient,
) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    for _ in range(5):  # more than the account's 3, fewer than the IP's 6
        assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_sign_ins_per_ip(client: httpx.AsyncClient, elsewhere: httpx.AsyncClient) -> None:
    for _ in range(6):
        assert (await _login(client, new_email(), "whatever it is")).status_code == 401
    assert_429(await _login(client, new_email(), "whatever it is"))
    assert (await _login(elsewhere, new_email(), "whatever it is")).status_code == 401


async def test_registrations_per_ip(
    client: httpx.AsyncClient, elsewhere: httpx.AsyncClient
) -> None:
    for _ in range(3):
        body = {"email": new_email(), "password": PASSWORD}
        assert (await client.post("/api/auth/register", json=body)).status_code == 201
    body = {"email": new_email(), "password": PASSWORD}
    assert_429(await client.post("/api/auth/register", json=body))
    assert (await elsewhere.post("/api/auth/register", json=body)).status_code == 201


async def test_link_creation_per_user(client: httpx.AsyncClient) -> None:
    alice = await make_user(client)
    bob = await make_user(client, admin=True)
    for _ in range(4):
        await make_link(client, alice)
    assert_429(await client.post("/api/links", json={"url": "https://a.example"}, headers=alice))
    await make_link(client, bob)  # the limit is Alice's, not the address's


async def test_link_creation_per_ip(make_settings) -> None:
    app = create_app(make_settings(**{**LIMITS, "rate_limit_links_ip": "5/1h"}))
    async with app.router.lifespan_context(app), client_from(app, "198.51.100.1") as client:
        users = [await make_user(client, admin=True) for _ in range(3)]
        for i in range(5):
            await make_link(client, users[i % 3])
        r = await client.post("/api/links", json={"url": "https://a.example"}, headers=users[2])
        assert_429(r)


async def test_password_guesses_per_ip_and_link(
    client: httpx.AsyncClient, elsewhere: httpx.AsyncClient
) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="secret", password="sesame")
    await make_link(client, headers, alias="other", password="sesame")
    for _ in range(3):
        r = await client.post("/secret", data={"password": "guess"})
        assert r.status_code == 403
    r = await client.post("/secret", data={"password": "sesame"}, headers={"accept": "x/y"})
    assert_429(r)
    html = await client.post("/secret", data={"password": "guess"}, headers={"accept": "text/html"})
    assert html.status_code == 429 and "retry-after" in html.headers
    # Another link, or another address, is not held up.
    assert (await client.post("/other", data={"password": "sesame"})).status_code == 302
    assert (await elsewhere.post("/secret", data={"password": "sesame"})).status_code == 302


async def test_right_passwords_do_not_use_up_the_guesses(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="mine", password="sesame")
    for _ in range(6):
        assert (await client.post("/mine", data={"password": "sesame"})).status_code == 302


@pytest.mark.parametrize("mode", ["postgres"])
async def test_counters_live_in_redis_and_are_shared_by_workers(
    make_settings, client: httpx.AsyncClient, settings
) -> None:
    """A second app on the same Redis (another worker) sees the first one's attempts; the
    counter keys carry no email or address."""
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    for _ in range(3):
        assert (await _login(client, email, "wrong password")).status_code == 401
    other = create_app(settings)
    # The same address (the default test client's) through another worker: still refused.
    async with other.router.lifespan_context(other), client_from(other, "127.0.0.1") as c2:
        assert_429(await _login(c2, email, PASSWORD))
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k.decode() async for k in redis.scan_iter(match=f"{settings.redis_prefix}rl:*")]
    finally:
        await redis.aclose()
    assert keys
    assert not any("@" in k or "127.0.0.1" in k for k in keys)


async def test_limits_off_by_setting(make_settings) -> None:
    app = create_app(make_settings(**{**LIMITS, "rate_limits_enabled": False}))
    async with app.router.lifespan_context(app), client_from(app, "198.51.100.2") as client:
        for _ in range(8):
            assert (await _login(client, "nobody@example.com", "wrong password")).status_code == 401


async def test_dashboard_sign_in_shares_the_account_limit(client: httpx.AsyncClient) -> None:
    """The /login form counts against the same per-account limit as /api/auth/token."""
    from tests.web.test_pages import csrf_of

    email = new_email()
    r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201
    for _ in range(2):
        assert (await _login(client, email, "wrong password")).status_code == 401
    token = csrf_of(await client.get("/login"))
    form = {"email": email, "password": "wrong password", "csrf_token": token}
    assert (await client.post("/login", data=form)).status_code == 400  # the third failure
    refused = await client.post("/login", data=form, headers={"accept": "application/json"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    # The right password from the same address is refused too while that address is locked.
    assert_429(await _login(client, email, PASSWORD))
