"""Countries come from the forwarded address only when a trusted proxy forwarded it."""

from __future__ import annotations

from tests.clicks.traffic import visit, wait_written
from tests.factories import make_link, make_user

# Public addresses and where the bundled database puts them.
PUBLIC = {
    "81.2.69.142": "GB",
    "8.8.8.8": "US",
    "133.242.0.1": "JP",
    "200.160.2.3": "BR",
    "2a00:1450:4001:82a::200e": "DE",
}


async def countries(client, headers, key: str) -> dict[str | None, int]:  # type: ignore[no-untyped-def]
    response = await client.get(f"/api/links/{key}/stats", headers=headers)
    assert response.status_code == 200, response.text
    return {row["value"]: row["clicks"] for row in response.json()["countries"]}


async def test_countries_from_a_trusted_proxy(client, app) -> None:  # type: ignore[no-untyped-def]
    # The test client connects from 127.0.0.1, which TRUSTED_PROXIES trusts by default.
    headers = await make_user(client)
    await make_link(client, headers, alias="geo")
    for ip in PUBLIC:
        await visit(client, "geo", ip=ip)
    await visit(client, "geo", ip="81.2.69.142")
    await visit(client, "geo", ip="192.168.1.20")  # private: no country
    await visit(client, "geo", ip="6.6.6.6, 81.2.69.142")  # the client's own claim is ignored
    await wait_written(app, len(PUBLIC) + 3)
    assert await countries(client, headers, "geo") == {
        "GB": 3,
        "US": 1,
        "JP": 1,
        "BR": 1,
        "DE": 1,
        None: 1,
    }


async def test_forwarded_header_from_an_untrusted_peer_is_ignored(make_settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from shortener.main import create_app
    from tests.conftest import BASE_URL

    app = create_app(make_settings(trusted_proxies="10.0.0.1"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # from 127.0.0.1, now untrusted
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="spoof")
            await visit(client, "spoof", ip="81.2.69.142")
            await visit(client, "spoof", ip="8.8.8.8")
            await wait_written(app, 2)
            # The peer, 127.0.0.1, has no country; the forged header counted for nothing.
            assert await countries(client, headers, "spoof") == {None: 2}
            stats = (await client.get("/api/links/spoof/stats", headers=headers)).json()
            # Both clicks came from one address with one browser: one visitor.
            assert stats["unique_visitors"] == 1
