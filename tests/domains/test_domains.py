"""Custom domains: the API, the proofs, and redirects chosen by the request's Host."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import dns.message
import dns.rdatatype
import dns.rrset
import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from shortener.domains.proofs import DomainProofs
from shortener.models import Domain
from tests.conftest import BASE_URL
from tests.factories import make_link, make_user

HOST = "go.example.test"
DEFAULT_HOST = urlsplit(BASE_URL).hostname


async def _admin_domain(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> Any:
    response = await client.post(
        "/api/domains", json={"hostname": HOST, "verified": True, **body}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _get(client: httpx.AsyncClient, path: str, host: str, **kw: Any) -> httpx.Response:
    return await client.get(path, headers={"Host": host, **kw.pop("headers", {})}, **kw)


async def test_hostnames_are_normalised_and_checked(client) -> None:
    user = await make_user(client)
    created = await client.post(
        "/api/domains", json={"hostname": " Bücher.Example. "}, headers=user
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["hostname"] == "xn--bcher-kva.example"
    assert body["verified"] is False and body["is_default"] is False
    token = body["verification"]["dns_value"]
    assert body["verification"] == {
        "dns_name": "_shortener.xn--bcher-kva.example",
        "dns_value": token,
        "http_path": f"/.well-known/shortener/{token}",
        "http_body": token,
    }
    again = await client.post("/api/domains", json={"hostname": "BÜCHER.example"}, headers=user)
    assert again.status_code == 409
    for bad in (
        "go.example.test:8080",
        "https://go.example.test",
        "10.0.0.1",
        "localhost",
        "a..b.test",
        "-x.test",
        "go.example.test/path",
        "",
    ):
        response = await client.post("/api/domains", json={"hostname": bad}, headers=user)
        assert response.status_code == 422, (bad, response.text)
    # Only admins share or skip the proof.
    for flag in ("shared", "verified"):
        response = await client.post(
            "/api/domains", json={"hostname": "x.example.test", flag: True}, headers=user
        )
        assert response.status_code == 403
    listed = (await client.get("/api/domains", headers=user)).json()
    assert listed[0]["is_default"] is True and listed[0]["hostname"] == DEFAULT_HOST
    assert [d["hostname"] for d in listed[1:]] == ["xn--bcher-kva.example"]
    # Another user neither sees nor manages it.
    other = await make_user(client)
    assert len((await client.get("/api/domains", headers=other)).json()) == 1
    domain_id = body["id"]
    assert (await client.delete(f"/api/domains/{domain_id}", headers=other)).status_code == 404


async def test_the_http_proof_end_to_end_through_the_host_header(app, client) -> None:
    user = await make_user(client)
    domain = (await client.post("/api/domains", json={"hostname": HOST}, headers=user)).json()
    path = domain["verification"]["http_path"]
    # Unproven: nothing routes the domain to us yet.
    app.runtime.domain_proofs = DomainProofs(dns_servers="127.0.0.1:9")
    refused = await client.post(f"/api/domains/{domain['id']}/verify", headers=user)
    assert refused.status_code == 409
    assert "_shortener.go.example.test" in refused.json()["detail"]
    # Only the domain being proven answers its token, on its own Host.
    assert (await _get(client, path, "elsewhere.example.test")).status_code == 404
    served = await _get(client, path, HOST)
    assert served.status_code == 200 and served.text == domain["verification"]["http_body"]
    # "DNS" now points the host at this service: the check reaches the app itself.
    app.runtime.domain_proofs = DomainProofs(
        dns_servers="127.0.0.1:9", http_transport=httpx.ASGITransport(app=app)
    )
    proven = await client.post(f"/api/domains/{domain['id']}/verify", headers=user)
    assert proven.status_code == 200, proven.text
    assert proven.json()["verified"] is True
    link = await make_link(client, user, domain=HOST, alias="mine")
    assert link["domain"] == HOST and link["short_url"] == f"http://{HOST}/mine"


@contextlib.contextmanager
def _dns_server(records: dict[str, str]) -> Iterator[int]:
    """A tiny UDP name server on loopback answering TXT questions from `records`."""
    loop = asyncio.get_running_loop()

    class Protocol(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            query = dns.message.from_wire(data)
            reply = dns.message.make_response(query)
            question = query.question[0]
            value = records.get(question.name.to_text().rstrip("."))
            if value is not None and question.rdtype == dns.rdatatype.TXT:
                reply.answer.append(
                    dns.rrset.from_text(question.name, 60, "IN", "TXT", f'"{value}"')
                )
            self.transport.sendto(reply.to_wire(), addr)

    holder: dict[str, Any] = {}

    async def start() -> None:
        transport, _ = await loop.create_datagram_endpoint(Protocol, local_addr=("127.0.0.1", 0))
        holder["t"] = transport

    yield holder, start  # type: ignore[misc]
    if "t" in holder:
        holder["t"].close()


async def test_the_dns_proof_with_a_name_server_the_test_runs(app, client) -> None:
    user = await make_user(client)
    domain = (await client.post("/api/domains", json={"hostname": HOST}, headers=user)).json()
    records: dict[str, str] = {}
    with _dns_server(records) as (holder, start):
        await start()
        port = holder["t"].get_extra_info("sockname")[1]
        app.runtime.domain_proofs = DomainProofs(dns_servers=f"127.0.0.1:{port}")
        records["_shortener.go.example.test"] = "not-the-token"
        assert (
            await client.post(f"/api/domains/{domain['id']}/verify", headers=user)
        ).status_code == 409
        records["_shortener.go.example.test"] = domain["verification"]["dns_value"]
        proven = await client.post(f"/api/domains/{domain['id']}/verify", headers=user)
    assert proven.status_code == 200, proven.text
    assert proven.json()["verified"] is True


async def test_links_may_only_use_verified_domains_of_their_own(client) -> None:
    user = await make_user(client)
    await client.post("/api/domains", json={"hostname": HOST}, headers=user)
    unverified = await client.post(
        "/api/links", json={"url": "https://example.com/", "domain": HOST}, headers=user
    )
    assert unverified.status_code == 409
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin, hostname="shared.example.test", shared=True)
    await _admin_domain(client, admin, hostname="private.example.test")
    ok = await make_link(client, user, domain="shared.example.test")
    assert ok["domain"] == "shared.example.test"
    refused = await client.post(
        "/api/links",
        json={"url": "https://example.com/", "domain": "private.example.test"},
        headers=user,
    )
    assert refused.status_code == 404


async def test_the_same_key_on_two_domains_is_two_links(client) -> None:
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin)
    default = await make_link(client, admin, url="https://example.com/default", alias="same")
    custom = await make_link(
        client, admin, url="https://example.com/custom", alias="same", domain=HOST
    )
    assert default["domain"] == DEFAULT_HOST and default["short_url"] == f"{BASE_URL}/same"
    assert custom["short_url"] == f"http://{HOST}/same"
    taken = await client.post(
        "/api/links",
        json={"url": "https://example.com/", "alias": "same", "domain": HOST},
        headers=admin,
    )
    assert taken.status_code == 409
    # The redirect chooses by Host; the port does not matter.
    assert (await _get(client, "/same", HOST)).headers["location"] == "https://example.com/custom"
    assert (await _get(client, "/same", f"{HOST.upper()}:8080")).headers[
        "location"
    ] == "https://example.com/custom"
    assert (await _get(client, "/same", DEFAULT_HOST)).headers["location"] == (
        "https://example.com/default"
    )
    # A host that is none of ours: 404 (UNKNOWN_HOSTS=404).
    assert (await _get(client, "/same", "stranger.example.test")).status_code == 404
    # The API names a link by key and ?domain=.
    got = await client.get("/api/links/same", params={"domain": HOST}, headers=admin)
    assert got.json()["url"] == "https://example.com/custom"
    assert (await client.get("/api/links/same", headers=admin)).json()["domain"] == DEFAULT_HOST
    listed = await client.get("/api/links", params={"domain": HOST}, headers=admin)
    assert [i["url"] for i in listed.json()["items"]] == ["https://example.com/custom"]
    changed = await client.patch(
        "/api/links/same",
        params={"domain": HOST},
        json={"url": "https://example.com/changed"},
        headers=admin,
    )
    assert changed.status_code == 200
    # The change reached the cache under (domain, key), and only there.
    assert (await _get(client, "/same", HOST)).headers["location"] == "https://example.com/changed"
    assert (await _get(client, "/same", DEFAULT_HOST)).headers["location"] == (
        "https://example.com/default"
    )
    assert (
        await client.delete("/api/links/same", params={"domain": HOST}, headers=admin)
    ).status_code == 204
    assert (await _get(client, "/same", HOST)).status_code == 404
    assert (await _get(client, "/same", DEFAULT_HOST)).status_code == 302


async def test_x_forwarded_host_only_from_trusted_proxies(app, client) -> None:
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin)
    await make_link(client, admin, url="https://example.com/custom", alias="fwd", domain=HOST)
    # The test transport's peer is 127.0.0.1: a trusted proxy by default.
    trusted = await _get(client, "/fwd", "internal:8000", headers={"X-Forwarded-Host": HOST})
    assert trusted.headers["location"] == "https://example.com/custom"
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as stranger:
        forged = await _get(stranger, "/fwd", DEFAULT_HOST, headers={"X-Forwarded-Host": HOST})
    assert forged.status_code == 404


@pytest.mark.parametrize("unknown_hosts", ["default"])
async def test_unknown_hosts_default(make_settings, unknown_hosts) -> None:
    from tests.factories import running

    async with running(make_settings(unknown_hosts=unknown_hosts)) as (_, client):
        admin = await make_user(client, admin=True)
        await _admin_domain(client, admin)
        await make_link(client, admin, url="https://example.com/d", alias="dflt")
        answer = await _get(client, "/dflt", "stranger.example.test")
        assert answer.headers["location"] == "https://example.com/d"


async def test_per_domain_redirects(client) -> None:
    admin = await make_user(client, admin=True)
    domain = await _admin_domain(client, admin)
    # Without redirects: the root and unknown keys are 404 on the domain.
    assert (await _get(client, "/", HOST)).status_code == 404
    assert (await _get(client, "/nope", HOST)).status_code == 404
    patched = await client.patch(
        f"/api/domains/{domain['id']}",
        json={
            "root_url": "https://example.com/home",
            "not_found_url": "https://example.com/missing",
            "expired_url": "https://example.com/gone",
        },
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    bad = await client.patch(
        f"/api/domains/{domain['id']}", json={"root_url": "ftp://x"}, headers=admin
    )
    assert bad.status_code == 422
    assert (await _get(client, "/", HOST)).headers["location"] == "https://example.com/home"
    assert (await _get(client, "/nope", HOST)).headers["location"] == "https://example.com/missing"
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await make_link(client, admin, alias="ends", domain=HOST, expires_at=soon)
    await make_link(
        client,
        admin,
        alias="own",
        domain=HOST,
        expires_at=soon,
        fallback_url="https://example.com/own-fallback",
    )
    await make_link(client, admin, alias="once", domain=HOST, max_clicks=1)
    assert (await _get(client, "/once", HOST)).headers["location"] == "https://example.com/page"
    assert (await _get(client, "/once", HOST)).headers["location"] == "https://example.com/gone"
    await asyncio.sleep(1.1)  # the expiry itself, not a wait for work
    assert (await _get(client, "/ends", HOST)).headers["location"] == "https://example.com/gone"
    assert (await _get(client, "/own", HOST)).headers["location"] == (
        "https://example.com/own-fallback"
    )
    # The default domain's root is still the service's own page, and its unknown keys 404.
    assert (await _get(client, "/nope", DEFAULT_HOST)).status_code == 404
    assert (await _get(client, "/", DEFAULT_HOST)).status_code != 404


async def test_deleting_a_domain_in_use(client) -> None:
    admin = await make_user(client, admin=True)
    domain = await _admin_domain(client, admin)
    await make_link(client, admin, alias="moves", domain=HOST)
    await make_link(client, admin, alias="clash", domain=HOST, url="https://example.com/c")
    await make_link(client, admin, alias="clash", url="https://example.com/default")
    refused = await client.delete(f"/api/domains/{domain['id']}", headers=admin)
    assert refused.status_code == 409 and "force=true" in refused.json()["detail"]
    clash = await client.delete(
        f"/api/domains/{domain['id']}", params={"force": "true"}, headers=admin
    )
    assert clash.status_code == 409 and "clash" in clash.json()["detail"]
    await client.delete("/api/links/clash", params={"domain": HOST}, headers=admin)
    gone = await client.delete(
        f"/api/domains/{domain['id']}", params={"force": "true"}, headers=admin
    )
    assert gone.status_code == 204
    moved = await client.get("/api/links/moves", headers=admin)
    assert moved.status_code == 200 and moved.json()["domain"] == DEFAULT_HOST
    assert (await _get(client, "/moves", DEFAULT_HOST)).status_code == 302
    assert (await client.delete(f"/api/domains/{domain['id']}", headers=admin)).status_code == 404


@pytest.mark.parametrize("domain_id", ["2147483648", "99999999999999999999", "-1"])
async def test_a_domain_id_out_of_range_is_a_422(client, domain_id: str) -> None:
    """Ids are 32-bit integers in PostgreSQL: a larger one is refused before any query (it
    reached the driver as a 500), as on every other route that takes a row's id."""
    admin = await make_user(client, admin=True)
    calls = [
        client.patch(f"/api/domains/{domain_id}", json={"root_url": None}, headers=admin),
        client.delete(f"/api/domains/{domain_id}", headers=admin),
        client.post(f"/api/domains/{domain_id}/verify", headers=admin),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["path", "domain_id"]


async def test_an_md5_link_is_made_on_the_domain_asked_for(client) -> None:
    """md5 answers 200 with the user's existing link to the URL on the same domain only: a link
    on another domain would have another short URL than the one asked for."""
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin)
    body = {"url": "https://md5.example/x", "key_strategy": "md5"}
    default = await client.post("/api/links", json=body, headers=admin)
    assert default.status_code == 201, default.text
    custom = await client.post("/api/links", json={**body, "domain": HOST}, headers=admin)
    assert custom.status_code == 201, custom.text
    assert custom.json()["domain"] == HOST
    assert custom.json()["short_url"] == f"http://{HOST}/{default.json()['key']}"
    again = await client.post("/api/links", json={**body, "domain": HOST}, headers=admin)
    assert (again.status_code, again.json()["short_url"]) == (200, custom.json()["short_url"])
    plain = await client.post("/api/links", json=body, headers=admin)
    assert (plain.status_code, plain.json()["short_url"]) == (200, default.json()["short_url"])


async def test_an_unproven_claim_lapses_and_the_name_is_taken_over(client, app) -> None:
    """A claim nobody proves cannot keep a domain from its owner for ever: until it lapses
    the name is refused (saying when it lapses), then the next claim takes it over."""
    squatter, owner = await make_user(client), await make_user(client)
    claimed = await client.post(
        "/api/domains", json={"hostname": "owned.example"}, headers=squatter
    )
    assert claimed.status_code == 201, claimed.text
    held = await client.post("/api/domains", json={"hostname": "owned.example"}, headers=owner)
    assert held.status_code == 409
    assert "not proven yet" in held.json()["detail"] and "lapses 3 days" in held.json()["detail"]

    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Domain)
            .where(col(Domain.hostname) == "owned.example")
            .values(created_at=datetime.now(UTC) - timedelta(days=3, minutes=1))
        )
    taken = await client.post("/api/domains", json={"hostname": "owned.example"}, headers=owner)
    assert taken.status_code == 201, taken.text
    assert taken.json()["verification"]["dns_value"] != claimed.json()["verification"]["dns_value"]
    gone = await client.post(f"/api/domains/{claimed.json()['id']}/verify", headers=squatter)
    assert gone.status_code == 404
    mine = (await client.get("/api/domains", headers=squatter)).json()
    assert "owned.example" not in {d["hostname"] for d in mine}
    # A proven domain never lapses.
    admin = await make_user(client, admin=True)
    await _admin_domain(client, admin)
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Domain)
            .where(col(Domain.hostname) == HOST)
            .values(created_at=datetime.now(UTC) - timedelta(days=30))
        )
    kept = await client.post("/api/domains", json={"hostname": HOST}, headers=owner)
    assert kept.status_code == 409 and "already taken" in kept.json()["detail"]
