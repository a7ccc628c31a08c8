"""Traffic that carries every kind of secret the service handles, through the real API.

Each secret is made up here and returned, so a test can grep the logs for it. Every step
checks that it did what it should (a 401 that was a 200 would carry nothing to leak).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import httpx

from tests.factories import eventually, new_email
from tests.webhooks.receiver import Receiver

# Visitors behind the (trusted, 127.0.0.1) proxy: their addresses arrive in X-Forwarded-For.
VISITOR_IPS = ["81.2.69.142", "2a00:1450:4001:82a::200e", "198.51.100.23"]
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Secrets:
    values: list[str] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)  # of responses, to find in the log

    def add(self, *values: str) -> None:
        self.values.extend(values)

    def found_in(self, text: str) -> list[str]:
        return [value for value in self.values if value in text]


def _secret(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(10)}"


async def secret_traffic(client: httpx.AsyncClient, receiver: Receiver, hook_url: str) -> Secrets:
    found = Secrets()
    found.add(*VISITOR_IPS)

    # Sign-up and sign-in through the API; a wrong password; a forged token.
    email, password = new_email(), _secret("pw-")
    r = await client.post("/api/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = await client.post("/api/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    wrong = _secret("wrong-pw-")
    r = await client.post("/api/auth/token", data={"username": email, "password": wrong})
    assert r.status_code == 401
    forged = _secret("eyJforged.")
    r = await client.get("/api/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    found.add(password, token, wrong, forged)

    # An API key, used; a query string with a secret in it.
    r = await client.post(
        "/api/keys", json={"name": "ci", "scopes": ["links:read", "links:write"]}, headers=auth
    )
    assert r.status_code == 201, r.text
    api_key = r.json()["key"]
    query_secret = _secret("qs-")
    r = await client.get("/api/links", params={"q": query_secret}, headers={"X-API-Key": api_key})
    assert r.status_code == 200, r.text
    found.request_ids.append(r.headers["x-request-id"])
    bad_key = _secret("sk_bad")
    r = await client.get("/api/links", headers={"X-API-Key": bad_key})
    assert r.status_code == 401
    found.add(api_key, query_secret, bad_key)

    # A webhook: its secret signs a delivery that really goes out.
    r = await client.post(
        "/api/webhooks", json={"url": hook_url, "events": ["link.created"]}, headers=auth
    )
    assert r.status_code == 201, r.text
    found.add(r.json()["secret"])

    # Links: one behind a password, one that forwards the visitor's query string, one whose
    # target carries a token (the database refuses its title on PostgreSQL: a logged error).
    link_password = _secret("link-pw-")
    r = await client.post(
        "/api/links",
        json={"url": "https://example.com/p", "alias": "guarded", "password": link_password},
        headers={"X-API-Key": api_key},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/links",
        json={"url": "https://example.com/q", "alias": "forwards", "forward_query": True},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    target_token = _secret("target-token-")
    r = await client.post(
        "/api/links",
        json={"url": f"https://example.com/t?token={target_token}", "title": "nul\x00title"},
        headers=auth,
    )
    assert r.status_code in (201, 422), r.text
    found.add(link_password, target_token)

    # Visitors, with a session id in the query string, behind the proxy.
    visit_secret = _secret("sess-")
    for ip in VISITOR_IPS:
        r = await client.get(
            f"/forwards?sid={visit_secret}", headers={"X-Forwarded-For": ip, "User-Agent": "t/1"}
        )
        assert r.status_code == 302, r.text
        assert visit_secret in r.headers["location"]
        found.request_ids.append(r.headers["x-request-id"])
    found.add(visit_secret)
    guess = _secret("guess-")
    r = await client.post(
        "/guarded", data={"password": guess}, headers={"X-Forwarded-For": VISITOR_IPS[0]}
    )
    assert r.status_code == 403
    r = await client.post(
        "/guarded", data={"password": link_password}, headers={"X-Forwarded-For": VISITOR_IPS[1]}
    )
    assert r.status_code == 302
    found.add(guess)

    # The dashboard: a form sign-in, and its session cookie.
    page = await client.get("/login")
    match = CSRF.search(page.text)
    assert match, page.text
    r = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": match.group(1)}
    )
    assert r.status_code == 303, r.text
    assert (await client.get("/dashboard")).status_code == 200
    found.add(*(value for value in client.cookies.values() if len(value) >= 16))
    client.cookies.clear()

    async def delivered() -> bool:
        return bool(receiver.received)

    await eventually(delivered)  # signed with the webhook's secret
    return found
