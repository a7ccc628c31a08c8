"""The default domain (BASE_URL's, no `domains` row): its redirects set by an admin through
PATCH /api/domains/0, and the loop check that refuses every domain of ours as a target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update
from sqlmodel import col

from shortener.models import Link
from tests.conftest import BASE_URL
from tests.factories import eventually, make_link, make_user, running

DEFAULT_HOST = urlsplit(BASE_URL).hostname
REDIRECTS = {
    "root_url": "https://example.com/home",
    "not_found_url": "https://example.com/missing",
    "expired_url": "https://example.com/gone",
}


async def _default(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    listed = (await client.get("/api/domains", headers=headers)).json()
    assert listed[0]["is_default"] is True and listed[0]["id"] == 0
    return listed[0]


async def test_admins_set_the_default_domains_redirects(client, app) -> None:  # type: ignore[no-untyped-def]
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    assert await _default(client, user) == {
        "id": 0,
        "hostname": DEFAULT_HOST,
        "is_default": True,
        "shared": True,
        "verified": True,
        "verification": None,
        "root_url": None,
        "not_found_url": None,
        "expired_url": None,
        "created_at": None,
    }
    home = await client.get("/")
    assert home.status_code == 303  # the service's own answer (to its sign-in), as before
    forbidden = await client.patch("/api/domains/0", json=REDIRECTS, headers=user)
    assert forbidden.status_code == 403 and "administrators" in forbidden.json()["detail"]
    patched = await client.patch("/api/domains/0", json=REDIRECTS, headers=admin)
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in REDIRECTS} == REDIRECTS
    assert {k: (await _default(client, user))[k] for k in REDIRECTS} == REDIRECTS

    assert (await client.get("/")).headers["location"] == "https://example.com/home"
    assert (await client.get("/nope")).headers["location"] == "https://example.com/missing"
    assert (await client.get("/.env")).headers["location"] == "https://example.com/missing"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await make_link(client, user, alias="ends", expires_at=later)
    await make_link(client, user, alias="once", max_clicks=1)
    assert (await client.get("/once")).headers["location"] == "https://example.com/page"
    assert (await client.get("/once")).headers["location"] == "https://example.com/gone"
    # Expired since: written to the row (no wait on a loaded machine), as an edit would be.
    async with app.runtime.sessionmaker() as session, session.begin():
        past = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(Link).where(col(Link.key) == "ends").values(expires_at=past))
    await app.runtime.link_cache.invalidate("ends")
    assert (await client.get("/ends")).headers["location"] == "https://example.com/gone"
    # The API and the dashboard are not the redirect path: untouched.
    assert (await client.get("/api/domains", headers=user)).status_code == 200

    # Only what is sent changes; null clears.
    cleared = await client.patch("/api/domains/0", json={"root_url": None}, headers=admin)
    assert cleared.json()["root_url"] is None
    assert cleared.json()["not_found_url"] == REDIRECTS["not_found_url"]
    again = await client.get("/")
    assert (again.status_code, again.headers["location"]) == (303, home.headers["location"])
    await client.patch("/api/domains/0", json={"not_found_url": None}, headers=admin)
    assert (await client.get("/nope")).status_code == 404


async def test_bad_default_domain_changes_are_4xx(client) -> None:
    admin = await make_user(client, admin=True)
    for body in (
        {"root_url": "ftp://x.example/"},
        {"root_url": f"{BASE_URL}/somewhere"},  # a loop back to us
        {"unknown": "https://example.com/"},
    ):
        response = await client.patch("/api/domains/0", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"]
    deleted = await client.delete("/api/domains/0", headers=admin)
    assert deleted.status_code == 409 and "cannot be removed" in deleted.json()["detail"]
    assert (await _default(client, admin))["root_url"] is None


async def test_every_worker_follows_a_change(make_settings, mode) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    async with running(settings) as (_, one), running(settings) as (_, two):
        admin = await make_user(one, admin=True)
        assert (await two.get("/nope")).status_code == 404  # read its settings once
        patched = await one.patch("/api/domains/0", json=REDIRECTS, headers=admin)
        assert patched.status_code == 200

        async def follows() -> bool:
            response = await two.get("/nope")
            return response.headers.get("location") == REDIRECTS["not_found_url"]

        if mode == "postgres":  # Redis: announced, acknowledged before the PATCH returned
            assert await follows()
        else:  # no channel without Redis: every worker reads them again within seconds
            await eventually(follows, interval=0.2)


async def test_no_link_may_point_at_one_of_our_domains(client) -> None:
    admin = await make_user(client, admin=True)
    user = await make_user(client)
    verified = await client.post(
        "/api/domains", json={"hostname": "go.example.test", "verified": True}, headers=admin
    )
    assert verified.status_code == 201
    pending = await client.post(
        "/api/domains", json={"hostname": "pending.example.test"}, headers=user
    )
    assert pending.status_code == 201
    link = await make_link(client, user, alias="fine")
    for url in (
        "https://go.example.test/x",
        "http://GO.example.test:8080/x",
        "go.example.test/x",
        f"{BASE_URL}/x",
    ):
        created = await client.post("/api/links", json={"url": url}, headers=user)
        assert created.status_code == 422, (url, created.text)
        assert "cannot point back at this service" in str(created.json()["detail"])
        patched = await client.patch(f"/api/links/{link['key']}", json={"url": url}, headers=user)
        assert patched.status_code == 422, (url, patched.text)
        fallback = await client.patch(
            f"/api/links/{link['key']}", json={"fallback_url": url}, headers=user
        )
        assert fallback.status_code == 422, (url, fallback.text)
    # A subdomain is another host; an unverified domain is not ours (yet).
    for url in ("https://sub.go.example.test/", "https://pending.example.test/"):
        assert (await client.post("/api/links", json={"url": url}, headers=user)).status_code == 201
    imported = await client.post(
        "/api/links/import",
        files={"file": ("l.csv", b"url\nhttps://go.example.test/y\n", "text/csv")},
        headers=user,
    )
    assert imported.json()["created"] == 0
    assert "cannot point back" in imported.json()["errors"][0]["detail"]
