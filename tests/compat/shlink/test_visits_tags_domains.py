"""Shlink's visits, tags, domains, redirect rules, Mercure and CORS routes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.clicks.traffic import CHROME_WINDOWS, GOOGLEBOT, SAFARI_IPHONE, visit, wait_written
from tests.compat.shlink.helpers import api_key, assert_problem
from tests.factories import make_link, make_user

V3 = "/rest/v3"


async def _clicked(client: httpx.AsyncClient, app: Any) -> tuple[dict[str, str], dict[str, str]]:
    """An account with links aaa (tag t: 2 human clicks, 1 bot) and bbb (1 click); its key."""
    bearer = await make_user(client)
    key = await api_key(client, bearer=bearer)
    await make_link(client, bearer, alias="aaa", tags=["t"])
    await make_link(client, bearer, alias="bbb")
    await visit(
        client, "aaa", ua=CHROME_WINDOWS, ip="81.2.69.160", referrer="https://news.example/x"
    )
    await visit(client, "aaa", ua=SAFARI_IPHONE)
    await visit(client, "aaa", ua=GOOGLEBOT)
    await visit(client, "bbb")
    await wait_written(app, 4)
    return bearer, key


async def test_short_url_visits_are_shlinks_visits(client: httpx.AsyncClient, app: Any) -> None:
    _, key = await _clicked(client, app)
    response = await client.get(f"{V3}/short-urls/aaa/visits", headers=key)
    assert response.status_code == 200, response.text
    visits = response.json()["visits"]
    assert visits["pagination"]["totalItems"] == 3
    assert [v["potentialBot"] for v in visits["data"]].count(True) == 1
    first = next(v for v in visits["data"] if v["referer"])
    assert first["referer"] == "https://news.example"
    assert first["visitLocation"]["countryCode"] == "GB"
    assert "Chrome/" in first["userAgent"] and "Windows" in first["userAgent"]
    assert first["visitedUrl"] == "http://short.test/aaa"
    assert set(first) == {
        "referer",
        "date",
        "userAgent",
        "visitLocation",
        "potentialBot",
        "visitedUrl",
        "redirectUrl",
    }
    dates = [v["date"] for v in visits["data"]]
    assert dates == sorted(dates, reverse=True)
    no_bots = await client.get(
        f"{V3}/short-urls/aaa/visits", params={"excludeBots": "true"}, headers=key
    )
    assert no_bots.json()["visits"]["pagination"]["totalItems"] == 2
    paged = await client.get(
        f"{V3}/short-urls/aaa/visits", params={"itemsPerPage": 2, "page": 2}, headers=key
    )
    assert paged.json()["visits"]["pagination"] == {
        "currentPage": 2,
        "pagesCount": 2,
        "itemsPerPage": 2,
        "itemsInCurrentPage": 1,
        "totalItems": 3,
    }
    later = await client.get(
        f"{V3}/short-urls/aaa/visits", params={"startDate": "2999-01-01"}, headers=key
    )
    assert later.json()["visits"]["data"] == []
    summary = (await client.get(f"{V3}/short-urls/aaa", headers=key)).json()["visitsSummary"]
    assert summary == {"total": 3, "nonBots": 2, "bots": 1}


async def test_tag_domain_and_account_visits(client: httpx.AsyncClient, app: Any) -> None:
    _, key = await _clicked(client, app)
    tag = await client.get(f"{V3}/tags/t/visits", headers=key)
    assert tag.json()["visits"]["pagination"]["totalItems"] == 3
    assert_problem(await client.get(f"{V3}/tags/none/visits", headers=key), 404, "tag-not-found")
    for path in (
        f"{V3}/domains/short.test/visits",
        f"{V3}/domains/DEFAULT/visits",
        f"{V3}/visits/non-orphan",
    ):
        response = await client.get(path, headers=key)
        assert response.json()["visits"]["pagination"]["totalItems"] == 4, path
    assert_problem(
        await client.get(f"{V3}/domains/x.test/visits", headers=key), 404, "domain-not-found"
    )
    overview = (await client.get(f"{V3}/visits", headers=key)).json()["visits"]
    assert overview["nonOrphanVisits"] == {"total": 4, "nonBots": 3, "bots": 1}
    assert overview["orphanVisits"] == {"total": 0, "nonBots": 0, "bots": 0}
    orphans = await client.get(f"{V3}/visits/orphan", headers=key)
    assert orphans.json()["visits"]["data"] == []
    assert (await client.delete(f"{V3}/visits/orphan", headers=key)).json() == {"deletedVisits": 0}
    # Another account sees none of these.
    stranger = await api_key(client)
    assert (await client.get(f"{V3}/visits", headers=stranger)).json()["visits"]["visitsCount"] == 0


async def test_delete_short_url_visits(client: httpx.AsyncClient, app: Any) -> None:
    bearer, key = await _clicked(client, app)
    deleted = await client.delete(f"{V3}/short-urls/aaa/visits", headers=key)
    assert deleted.status_code == 200 and deleted.json() == {"deletedVisits": 3}
    assert (await client.get(f"{V3}/short-urls/aaa", headers=key)).json()["visitsSummary"][
        "total"
    ] == 0
    assert (await client.get(f"{V3}/short-urls/aaa/visits", headers=key)).json()["visits"][
        "data"
    ] == []
    stats = await client.get(
        "/api/links/aaa/stats", params={"include_bots": "true"}, headers=bearer
    )
    assert stats.json()["total_clicks"] == 0
    # bbb keeps its click.
    assert (await client.get(f"{V3}/short-urls/bbb", headers=key)).json()["visitsSummary"][
        "total"
    ] == 1


async def test_tags_list_stats_rename_delete(client: httpx.AsyncClient, app: Any) -> None:
    bearer, key = await _clicked(client, app)
    await make_link(client, bearer, alias="ccc", tags=["t", "u"])
    assert (await client.get(f"{V3}/tags", headers=key)).json() == {"tags": {"data": ["t", "u"]}}
    stats = (await client.get(f"{V3}/tags/stats", headers=key)).json()["tags"]["data"]
    assert stats[0] == {
        "tag": "t",
        "shortUrlsCount": 2,
        "visitsSummary": {"total": 3, "nonBots": 2, "bots": 1},
    }
    conflict = await client.put(f"{V3}/tags", json={"oldName": "t", "newName": "u"}, headers=key)
    assert assert_problem(conflict, 409, "tag-conflict")["newName"] == "u"
    missing = await client.put(f"{V3}/tags", json={"oldName": "zz", "newName": "y"}, headers=key)
    assert_problem(missing, 404, "tag-not-found")
    bad = await client.put(f"{V3}/tags", json={"oldName": "t", "newName": " "}, headers=key)
    assert_problem(bad, 400, "invalid-data")
    assert (
        await client.put(f"{V3}/tags", json={"oldName": "t", "newName": "v"}, headers=key)
    ).status_code == 204
    assert (await client.get(f"{V3}/tags", headers=key)).json()["tags"]["data"] == ["u", "v"]
    gone = await client.delete(f"{V3}/tags", params={"tags[]": ["u", "v"]}, headers=key)
    assert gone.status_code == 204
    assert (await client.get(f"{V3}/tags", headers=key)).json()["tags"]["data"] == []
    assert (await client.get(f"{V3}/short-urls/ccc", headers=key)).json()["tags"] == []
    # Another account's tags are untouched by this one's renames.
    other = await make_user(client)
    await make_link(client, other, alias="ddd", tags=["w"])
    await client.delete(f"{V3}/tags", params={"tags[]": ["w"]}, headers=key)
    assert (await client.get("/api/links/ddd", headers=other)).json()["tags"] == ["w"]


async def test_domains_and_mercure(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    nulls = {"baseUrlRedirect": None, "regular404Redirect": None, "invalidShortUrlRedirect": None}
    assert (await client.get(f"{V3}/domains", headers=key)).json() == {
        "domains": {
            "data": [{"domain": "short.test", "isDefault": True, "redirects": nulls}],
            "defaultRedirects": nulls,
        }
    }
    default = await client.patch(
        f"{V3}/domains/redirects", json={"domain": "short.test"}, headers=key
    )
    assert_problem(default, 403, "invalid-domain")
    other = await client.patch(f"{V3}/domains/redirects", json={"domain": "x.test"}, headers=key)
    assert_problem(other, 404, "domain-not-found")
    assert_problem(
        await client.get(f"{V3}/mercure-info", headers=key), 501, "mercure-not-configured"
    )


async def test_redirect_rules_map_to_targeting_rules(client: httpx.AsyncClient) -> None:
    bearer = await make_user(client)
    key = await api_key(client, bearer=bearer)
    await make_link(client, bearer, alias="rrr", url="https://e.com/default")
    url = f"{V3}/short-urls/rrr/redirect-rules"
    assert (await client.get(url, headers=key)).json() == {
        "defaultLongUrl": "https://e.com/default",
        "redirectRules": [],
    }
    rules = {
        "redirectRules": [
            {
                "longUrl": "https://e.com/ios-de",
                "conditions": [
                    {"type": "device", "matchKey": None, "matchValue": "ios"},
                    {"type": "geolocation-country-code", "matchKey": None, "matchValue": "DE"},
                ],
            },
            {
                "longUrl": "https://e.com/fr",
                "conditions": [{"type": "language", "matchValue": "fr"}],
            },
        ]
    }
    saved = await client.post(url, json=rules, headers=key)
    assert saved.status_code == 200, saved.text
    assert [r["priority"] for r in saved.json()["redirectRules"]] == [1, 2]
    assert saved.json()["redirectRules"][0]["conditions"] == [
        {"type": "device", "matchKey": None, "matchValue": "ios"},
        {"type": "geolocation-country-code", "matchKey": None, "matchValue": "DE"},
    ]
    ours = (await client.get("/api/links/rrr", headers=bearer)).json()["rules"]
    assert [{k: v for k, v in rule.items() if v is not None} for rule in ours] == [
        {"url": "https://e.com/ios-de", "device": "ios", "country": "DE"},
        {"url": "https://e.com/fr", "language": "fr"},
    ]
    assert (await client.get(f"{V3}/short-urls/rrr", headers=key)).json()[
        "hasRedirectRules"
    ] is True
    # The redirect follows the rule.
    french = await client.get("/rrr", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.headers["location"] == "https://e.com/fr"
    unsupported = {
        "redirectRules": [
            {
                "longUrl": "https://e.com/",
                "conditions": [{"type": "query-param", "matchKey": "a", "matchValue": "b"}],
            }
        ]
    }
    assert_problem(await client.post(url, json=unsupported, headers=key), 400, "invalid-data")
    bad_device = {
        "redirectRules": [
            {
                "longUrl": "https://e.com/",
                "conditions": [{"type": "device", "matchValue": "windows"}],
            }
        ]
    }
    assert_problem(await client.post(url, json=bad_device, headers=key), 400, "invalid-data")
    cleared = await client.post(url, json={"redirectRules": []}, headers=key)
    assert cleared.json()["redirectRules"] == []


async def test_cors_any_origin_and_preflight(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    origin = {"Origin": "https://app.shlink.io"}
    simple = await client.get(f"{V3}/short-urls", headers={**key, **origin})
    assert simple.headers["access-control-allow-origin"] == "*"
    preflight = await client.options(
        f"{V3}/short-urls/abc",
        headers={
            **origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "x-api-key,content-type",
        },
    )
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-methods"] == "GET,PATCH,DELETE,OPTIONS"
    assert preflight.headers["access-control-allow-headers"] == "x-api-key,content-type"
    assert preflight.headers["access-control-max-age"] == "3600"
    # Errors carry it too (the client reads problems across origins), and our API is unchanged.
    error = await client.get(f"{V3}/short-urls", headers=origin)
    assert error.headers["access-control-allow-origin"] == "*"
    assert (
        "access-control-allow-origin"
        not in (await client.get("/api/links", headers=origin)).headers
    )
