"""Targeting rules, A/B variants, forwarding, fallback URLs and social previews, over HTTP."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from shortener.models import Click, Link
from tests.conftest import BASE_URL
from tests.factories import eventually, make_link, make_user

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GERMAN_IP = "81.169.145.156"  # a public address GeoIP places in Germany
US_IP = "8.8.8.8"


def visitor(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose TCP peer address is `ip`, as a visitor without a proxy would be."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


async def test_rules_first_match_wins(client, app) -> None:
    headers = await make_user(client)
    rules = [
        {"device": "ios", "url": "https://apps.apple.com/app"},
        {"device": "android", "url": "https://play.google.com/app"},
        {"country": "de", "url": "https://example.de/"},
        {"language": "fr", "url": "https://example.fr/"},
    ]
    link = await make_link(client, headers, alias="app", url="https://example.com/", rules=rules)
    assert link["rules"][2] == {
        "country": "DE",
        "url": "https://example.de/",
        "device": None,
        "language": None,
    }

    async def target(ip: str, **hdrs: str) -> str:
        async with visitor(app, ip) as c:
            response = await c.get("/app", headers=hdrs)
        assert response.status_code == 302
        return response.headers["location"]

    assert await target(US_IP, **{"user-agent": IPHONE}) == "https://apps.apple.com/app"
    assert await target(GERMAN_IP, **{"user-agent": ANDROID}) == "https://play.google.com/app"
    assert await target(GERMAN_IP, **{"user-agent": WINDOWS}) == "https://example.de/"
    lang = {"user-agent": WINDOWS, "accept-language": "fr-CH, en;q=0.5"}
    assert await target(US_IP, **lang) == "https://example.fr/"
    assert await target(US_IP, **{"user-agent": WINDOWS}) == "https://example.com/"


async def test_bad_rules_are_422(client) -> None:
    headers = await make_user(client)
    bad = [
        [{"country": "XX", "url": "https://a.example"}],
        [{"url": "https://a.example"}],
        [{"device": "toaster", "url": "https://a.example"}],
        [{"language": "german", "url": "https://a.example"}],
        [{"device": "ios", "url": "javascript:alert(1)"}],
        [{"device": "ios", "url": f"{BASE_URL}/loop"}],
    ]
    for rules in bad:
        response = await client.post(
            "/api/links", json={"url": "https://example.com", "rules": rules}, headers=headers
        )
        assert response.status_code == 422, (rules, response.text)
        assert response.json()["detail"]
    variants = [
        [{"url": "https://a.example", "weight": 1}],
        [{"url": "https://a.example", "weight": 0}, {"url": "https://b.example"}],
    ]
    for v in variants:
        response = await client.post(
            "/api/links", json={"url": "https://example.com", "variants": v}, headers=headers
        )
        assert response.status_code == 422, (v, response.text)


async def test_variants_are_sticky_weighted_and_recorded(client, app) -> None:
    headers = await make_user(client)
    variants = [
        {"url": "https://a.example/", "weight": 3},
        {"url": "https://b.example/", "weight": 1},
    ]
    await make_link(client, headers, alias="abtest", url="https://example.com/", variants=variants)
    seen: Counter[str] = Counter()
    for i in range(200):
        ua = {"user-agent": f"{WINDOWS} visitor/{i}"}
        first = await client.get("/abtest", headers=ua)
        again = await client.get("/abtest", headers=ua)
        assert first.headers["location"] == again.headers["location"]  # the visitor keeps it
        seen[first.headers["location"]] += 1
    assert set(seen) == {"https://a.example/", "https://b.example/"}
    assert seen["https://a.example/"] > seen["https://b.example/"]

    async def recorded() -> bool:
        async with app.runtime.sessionmaker() as session:
            rows = (await session.execute(select(Click.variant))).scalars().all()
        return len(rows) == 400

    await eventually(recorded)
    async with app.runtime.sessionmaker() as session:
        variants_seen = Counter((await session.execute(select(Click.variant))).scalars())
    assert variants_seen[0] == 2 * seen["https://a.example/"]
    assert variants_seen[1] == 2 * seen["https://b.example/"]


async def test_forward_query_and_path(client) -> None:
    headers = await make_user(client)
    await make_link(
        client, headers, alias="fwdq", url="https://t.example/p?a=1", forward_query=True
    )
    r = await client.get("/fwdq?a=2&utm_source=mail")
    assert r.headers["location"] == "https://t.example/p?a=1&utm_source=mail"
    await make_link(
        client, headers, alias="fwdp", url="https://docs.example/v2/", forward_path=True
    )
    r = await client.get("/fwdp/guide/intro")
    assert r.status_code == 302
    assert r.headers["location"] == "https://docs.example/v2/guide/intro"
    await make_link(client, headers, alias="plain", url="https://t.example/p?a=1")
    assert (await client.get("/plain/extra")).status_code == 404
    assert (await client.get("/plain?x=1")).headers["location"] == "https://t.example/p?a=1"


async def test_fallback_for_expired_and_exhausted_links(client, app) -> None:
    headers = await make_user(client)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await make_link(
        client, headers, alias="exp", expires_at=soon, fallback_url="https://example.com/over"
    )
    async with app.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Link)
            .where(Link.key == "exp")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await app.runtime.link_cache.invalidate("exp")
    r = await client.get("/exp")
    assert (r.status_code, r.headers["location"]) == (302, "https://example.com/over")

    await make_link(
        client, headers, alias="once", max_clicks=1, fallback_url="https://example.com/x"
    )
    assert (await client.get("/once")).headers["location"] == "https://example.com/page"
    r = await client.get("/once")
    assert (r.status_code, r.headers["location"]) == (302, "https://example.com/x")
    await make_link(client, headers, alias="once2", max_clicks=1)
    await client.get("/once2")
    assert (await client.get("/once2")).status_code == 410


async def test_unfurlers_get_the_preview_people_the_redirect(client) -> None:
    headers = await make_user(client)
    await make_link(
        client,
        headers,
        alias="ogp",
        og_title='Launch <script>alert("x")</script>',
        og_description="All about it",
        og_image="https://cdn.example/card.png",
    )
    bot = await client.get("/ogp", headers={"user-agent": "Slackbot-LinkExpanding 1.0"})
    assert bot.status_code == 200
    assert bot.headers["content-type"].startswith("text/html")
    assert '<meta property="og:title" content="Launch &lt;script&gt;' in bot.text
    assert "<script>" not in bot.text
    assert 'content="https://cdn.example/card.png"' in bot.text
    human = await client.get("/ogp", headers={"user-agent": WINDOWS})
    assert human.status_code == 302


async def test_patch_options_take_effect_at_once(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="chg", url="https://example.com/")
    assert (await client.get("/chg", headers={"user-agent": IPHONE})).headers["location"] == (
        "https://example.com/"
    )
    patch = {"rules": [{"device": "ios", "url": "https://ios.example/"}], "forward_query": True}
    r = await client.patch("/api/links/chg", json=patch, headers=headers)
    assert r.status_code == 200 and r.json()["forward_query"] is True
    got = await client.get("/chg?x=1", headers={"user-agent": IPHONE})
    assert got.headers["location"] == "https://ios.example/?x=1"
    r = await client.patch(
        "/api/links/chg", json={"rules": None, "forward_query": False}, headers=headers
    )
    assert r.json()["rules"] is None
    got = await client.get("/chg?x=1", headers={"user-agent": IPHONE})
    assert got.headers["location"] == "https://example.com/"
    bad = await client.patch("/api/links/chg", json={"forward_path": None}, headers=headers)
    assert bad.status_code == 422


async def test_stats_break_down_by_variant(client) -> None:
    headers = await make_user(client)
    variants = [
        {"url": "https://a.example/", "weight": 1},
        {"url": "https://b.example/", "weight": 1},
    ]
    await make_link(client, headers, alias="split", variants=variants)
    sent: Counter[str] = Counter()
    for i in range(40):
        r = await client.get("/split", headers={"user-agent": f"{WINDOWS} v/{i}"})
        sent["0" if r.headers["location"] == "https://a.example/" else "1"] += 1

    async def counted() -> bool:
        stats = await client.get("/api/links/split/stats", headers=headers)
        return stats.json()["total_clicks"] == 40

    await eventually(counted)
    stats = (await client.get("/api/links/split/stats", headers=headers)).json()
    assert {s["value"]: s["clicks"] for s in stats["variants"]} == dict(sent)
