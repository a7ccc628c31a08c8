"""Blocked target domains (setting + admin API), and admins disabling a link."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import make_link, make_user


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(blocked_domains="evil.example, Phish.Test.")


async def _create(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> httpx.Response:
    return await client.post("/api/links", json={"url": url}, headers=headers)


def _refused(response: httpx.Response, domain: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "url"]
    assert domain in detail[0]["msg"]


@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("https://evil.example/login", "evil.example"),
        ("https://EVIL.example./x", "evil.example"),
        ("http://www.login.evil.example:8080/", "evil.example"),
        ("https://user@phish.test/", "phish.test"),
    ],
)
async def test_configured_domains_and_their_subdomains_are_refused(
    client: httpx.AsyncClient, url: str, blocked: str
) -> None:
    headers = await make_user(client)
    _refused(await _create(client, headers, url), blocked)


async def test_lookalikes_are_not_blocked(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    for url in ("https://notevil.example/", "https://evil.example.com/", "https://example/"):
        assert (await _create(client, headers, url)).status_code == 201, url


async def test_admin_blocklist_api(client: httpx.AsyncClient) -> None:
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    link = await make_link(client, user, url="https://fine.example/")

    r = await client.post(
        "/api/admin/blocklist",
        json={"domain": "Bücher.Example.", "reason": "phishing"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["domain"] == "xn--bcher-kva.example"
    assert r.json()["source"] == "admin"
    assert (
        await client.post("/api/admin/blocklist", json={"domain": "bücher.example"}, headers=admin)
    ).status_code == 409

    _refused(await _create(client, user, "https://shop.BÜCHER.example/"), "xn--bcher-kva.example")
    _refused(await _create(client, user, "https://xn--bcher-kva.example/"), "xn--bcher-kva.example")
    # Changing a link's URL to a blocked domain is refused too.
    r = await client.patch(
        f"/api/links/{link['key']}", json={"url": "https://www.evil.example/"}, headers=user
    )
    _refused(r, "evil.example")

    listed = (await client.get("/api/admin/blocklist", headers=admin)).json()["items"]
    assert {(e["domain"], e["source"]) for e in listed} == {
        ("evil.example", "settings"),
        ("phish.test", "settings"),
        ("xn--bcher-kva.example", "admin"),
    }

    # Users cannot see or change the list.
    assert (await client.get("/api/admin/blocklist", headers=user)).status_code == 403
    r = await client.post("/api/admin/blocklist", json={"domain": "x.example"}, headers=user)
    assert r.status_code == 403

    assert (
        await client.delete("/api/admin/blocklist/bücher.example", headers=admin)
    ).status_code == 204
    assert (await _create(client, user, "https://bücher.example/")).status_code == 201
    r = await client.delete("/api/admin/blocklist/evil.example", headers=admin)
    assert r.status_code == 409 and "BLOCKED_DOMAINS" in r.json()["detail"]
    r = await client.delete("/api/admin/blocklist/never.example", headers=admin)
    assert r.status_code == 404


@pytest.mark.parametrize("domain", ["not a domain", "a..b", "-x.example", "x" * 64 + ".com", ""])
async def test_blocklist_rejects_what_is_not_a_domain(
    client: httpx.AsyncClient, domain: str
) -> None:
    admin = await make_user(client, admin=True)
    r = await client.post("/api/admin/blocklist", json={"domain": domain}, headers=admin)
    assert r.status_code == 422, r.text
    assert "detail" in r.json()


async def test_an_admin_can_disable_any_link(client: httpx.AsyncClient) -> None:
    """Admins see every link, so PATCH /api/links/{key} is their switch."""
    owner = await make_user(client)
    admin = await make_user(client, admin=True)
    link = await make_link(client, owner, alias="spammy")
    assert (await client.get("/spammy")).status_code == 302
    r = await client.patch("/api/links/spammy", json={"is_active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await client.get("/spammy")).status_code == 410
    # The owner sees it disabled; another user still cannot touch it.
    assert (await client.get("/api/links/spammy", headers=owner)).json()["is_active"] is False
    stranger = await make_user(client)
    r = await client.patch("/api/links/spammy", json={"is_active": True}, headers=stranger)
    assert r.status_code == 404
    assert link["key"] == "spammy"


async def test_rules_variants_and_fallback_cannot_reach_a_blocked_domain(client) -> None:
    headers = await make_user(client)
    bad_bodies = {
        "rules.0.url": {"rules": [{"device": "ios", "url": "https://login.evil.example/"}]},
        "variants.1.url": {
            "variants": [{"url": "https://ok.example/"}, {"url": "https://phish.test/x"}]
        },
        "fallback_url": {"fallback_url": "https://evil.example/after"},
    }
    for field, extra in bad_bodies.items():
        r = await client.post(
            "/api/links", json={"url": "https://ok.example/", **extra}, headers=headers
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", field]
        assert "not allowed" in r.json()["detail"][0]["msg"]
    link = await make_link(client, headers, url="https://ok.example/")
    r = await client.patch(
        f"/api/links/{link['key']}", json=bad_bodies["fallback_url"], headers=headers
    )
    assert r.status_code == 422
    after = await client.get(f"/api/links/{link['key']}", headers=headers)
    assert after.json()["fallback_url"] is None  # nothing stored
