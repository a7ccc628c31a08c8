"""Shlink's routes on custom domains: `?domain=`, the create body's `domain`, the list filter,
per-domain visits, the domains list and its redirects, and orphan visits."""

from __future__ import annotations

from typing import Any

import httpx

from tests.clicks.traffic import CHROME_WINDOWS, wait_written
from tests.compat.shlink.helpers import api_key, assert_problem
from tests.factories import eventually, make_user

V3 = "/rest/v3"
GO = "go.example.test"


async def _admin_with_domain(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """An admin with the verified domain GO; their bearer headers and a Shlink key."""
    admin = await make_user(client, admin=True)
    response = await client.post(
        "/api/domains", json={"hostname": GO, "verified": True}, headers=admin
    )
    assert response.status_code == 201, response.text
    return admin, await api_key(client, bearer=admin)


async def test_a_short_url_on_a_custom_domain(client: httpx.AsyncClient, app: Any) -> None:
    _, key = await _admin_with_domain(client)
    on_go = {"domain": GO}
    made = await client.post(
        f"{V3}/short-urls",
        json={"longUrl": "https://example.com/go", "customSlug": "same", "domain": GO},
        headers=key,
    )
    assert made.status_code == 200, made.text
    assert made.json()["domain"] == GO
    assert made.json()["shortUrl"] == f"http://{GO}/same"
    # The same slug on the default domain is another short URL, whose domain is null.
    default = await client.post(
        f"{V3}/short-urls",
        json={"longUrl": "https://example.com/default", "customSlug": "same"},
        headers=key,
    )
    assert default.status_code == 200, default.text
    assert default.json()["domain"] is None
    assert default.json()["shortUrl"] == "http://short.test/same"

    found = await client.post(
        f"{V3}/short-urls",
        json={"longUrl": "https://example.com/go", "findIfExists": True, "domain": GO},
        headers=key,
    )
    assert (found.json()["shortCode"], found.json()["domain"]) == ("same", GO)
    got = await client.get(f"{V3}/short-urls/same", params=on_go, headers=key)
    assert got.json()["longUrl"] == "https://example.com/go"
    for params in ({}, {"domain": "DEFAULT"}, {"domain": "short.test"}):
        got = await client.get(f"{V3}/short-urls/same", params=params, headers=key)
        assert got.json()["longUrl"] == "https://example.com/default", params
    unknown = await client.get(
        f"{V3}/short-urls/same", params={"domain": "nope.example.test"}, headers=key
    )
    assert assert_problem(unknown, 404, "domain-not-found")["authority"] == "nope.example.test"

    edited = await client.patch(
        f"{V3}/short-urls/same",
        params=on_go,
        json={"longUrl": "https://example.com/edited"},
        headers=key,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["domain"] == GO
    redirect = await client.get("/same", headers={"Host": GO, "User-Agent": CHROME_WINDOWS})
    assert redirect.headers["location"] == "https://example.com/edited"
    untouched = await client.get(f"{V3}/short-urls/same", headers=key)
    assert untouched.json()["longUrl"] == "https://example.com/default"

    listed = {}
    for name, params in (("all", {}), ("go", on_go), ("default", {"domain": "DEFAULT"})):
        response = await client.get(f"{V3}/short-urls", params=params, headers=key)
        assert response.status_code == 200, response.text
        listed[name] = [u["shortUrl"] for u in response.json()["shortUrls"]["data"]]
    assert sorted(listed["all"]) == ["http://go.example.test/same", "http://short.test/same"]
    assert listed["go"] == ["http://go.example.test/same"]
    assert listed["default"] == ["http://short.test/same"]

    await wait_written(app, 1)
    visits = await client.get(f"{V3}/short-urls/same/visits", params=on_go, headers=key)
    assert visits.json()["visits"]["pagination"]["totalItems"] == 1
    assert visits.json()["visits"]["data"][0]["visitedUrl"] == f"http://{GO}/same"
    none = await client.get(f"{V3}/short-urls/same/visits", headers=key)
    assert none.json()["visits"]["pagination"]["totalItems"] == 0
    for domain, total in ((GO, 1), ("DEFAULT", 0)):
        response = await client.get(f"{V3}/domains/{domain}/visits", headers=key)
        assert response.json()["visits"]["pagination"]["totalItems"] == total, domain
        if total:
            assert response.json()["visits"]["data"][0]["visitedUrl"] == f"http://{GO}/same"
    gone = await client.delete(f"{V3}/short-urls/same/visits", params=on_go, headers=key)
    assert gone.json() == {"deletedVisits": 1}

    deleted = await client.delete(f"{V3}/short-urls/same", params=on_go, headers=key)
    assert deleted.status_code == 204
    missing = await client.get(f"{V3}/short-urls/same", params=on_go, headers=key)
    assert_problem(missing, 404, "short-url-not-found")
    assert (await client.get(f"{V3}/short-urls/same", headers=key)).status_code == 200


async def test_a_domain_others_cannot_see_does_not_exist(client: httpx.AsyncClient) -> None:
    await _admin_with_domain(client)
    key = await api_key(client)
    made = await client.post(
        f"{V3}/short-urls", json={"longUrl": "https://example.com/", "domain": GO}, headers=key
    )
    assert_problem(made, 404, "domain-not-found")
    listed = await client.get(f"{V3}/short-urls", params={"domain": GO}, headers=key)
    assert_problem(listed, 404, "domain-not-found")
    domains = await client.get(f"{V3}/domains", headers=key)
    assert [d["domain"] for d in domains.json()["domains"]["data"]] == ["short.test"]


async def test_domains_and_their_redirects(client: httpx.AsyncClient) -> None:
    admin, key = await _admin_with_domain(client)
    unverified = await client.post(
        "/api/domains", json={"hostname": "later.example.test"}, headers=admin
    )
    assert unverified.status_code == 201, unverified.text
    changed = await client.patch(
        f"{V3}/domains/redirects",
        json={
            "domain": GO,
            "baseUrlRedirect": "https://home.example/",
            "invalidShortUrlRedirect": "https://lost.example/",
        },
        headers=key,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "baseUrlRedirect": "https://home.example/",
        "regular404Redirect": "https://lost.example/",
        "invalidShortUrlRedirect": "https://lost.example/",
    }
    ours = (await client.get("/api/domains", headers=admin)).json()
    mine = next(d for d in ours if d["hostname"] == GO)
    assert (mine["root_url"], mine["not_found_url"]) == (
        "https://home.example/",
        "https://lost.example/",
    )
    # A field left out keeps its value.
    kept = await client.patch(
        f"{V3}/domains/redirects",
        json={"domain": GO, "regular404Redirect": "https://elsewhere.example/"},
        headers=key,
    )
    assert kept.json()["baseUrlRedirect"] == "https://home.example/"
    assert kept.json()["invalidShortUrlRedirect"] == "https://elsewhere.example/"

    listed = (await client.get(f"{V3}/domains", headers=key)).json()["domains"]
    assert listed["data"] == [
        {
            "domain": "short.test",
            "isDefault": True,
            "redirects": {
                "baseUrlRedirect": None,
                "regular404Redirect": None,
                "invalidShortUrlRedirect": None,
            },
        },
        {
            "domain": GO,
            "isDefault": False,
            "redirects": {
                "baseUrlRedirect": "https://home.example/",
                "regular404Redirect": "https://elsewhere.example/",
                "invalidShortUrlRedirect": "https://elsewhere.example/",
            },
        },
    ]
    for name in ("DEFAULT", "short.test"):
        refused = await client.patch(
            f"{V3}/domains/redirects",
            json={"domain": name, "baseUrlRedirect": "https://x.example/"},
            headers=key,
        )
        assert_problem(refused, 403, "invalid-domain")
    unknown = await client.patch(
        f"{V3}/domains/redirects", json={"domain": "nope.example.test"}, headers=key
    )
    assert_problem(unknown, 404, "domain-not-found")
    both = await client.patch(
        f"{V3}/domains/redirects",
        json={
            "domain": GO,
            "regular404Redirect": "https://a.example/",
            "invalidShortUrlRedirect": "https://b.example/",
        },
        headers=key,
    )
    assert_problem(both, 400, "invalid-data")


async def test_orphan_visits(client: httpx.AsyncClient, app: Any) -> None:
    _, key = await _admin_with_domain(client)
    for path in ("/", "/nokey", "/wp-login.php"):
        response = await client.get(path, headers={"Host": GO, "User-Agent": CHROME_WINDOWS})
        assert response.status_code == 404, path

    async def recorded() -> bool:
        response = await client.get(f"{V3}/visits/orphan", headers=key)
        return bool(response.json()["visits"]["pagination"]["totalItems"] == 3)

    await eventually(recorded)
    visits = (await client.get(f"{V3}/visits/orphan", headers=key)).json()["visits"]
    kinds = {v["visitedUrl"]: v["type"] for v in visits["data"]}
    assert kinds == {
        f"http://{GO}/": "base_url",
        f"http://{GO}/nokey": "invalid_short_url",
        f"http://{GO}/wp-login.php": "regular_404",
    }
    assert all(v["userAgent"] and "Chrome/" in v["userAgent"] for v in visits["data"])
    one = await client.get(f"{V3}/visits/orphan", params={"type": "invalid_short_url"}, headers=key)
    assert [v["visitedUrl"] for v in one.json()["visits"]["data"]] == [f"http://{GO}/nokey"]
    paged = await client.get(
        f"{V3}/visits/orphan", params={"itemsPerPage": 2, "page": 2}, headers=key
    )
    assert paged.json()["visits"]["pagination"] == {
        "currentPage": 2,
        "pagesCount": 2,
        "itemsPerPage": 2,
        "itemsInCurrentPage": 1,
        "totalItems": 3,
    }
    on_default = await client.get(f"{V3}/visits/orphan", params={"domain": "DEFAULT"}, headers=key)
    assert on_default.json()["visits"]["pagination"]["totalItems"] == 0
    overview = (await client.get(f"{V3}/visits", headers=key)).json()["visits"]
    assert overview["orphanVisitsCount"] == 3
    assert overview["orphanVisits"] == {"total": 3, "nonBots": 3, "bots": 0}

    # Someone else's key (no domain of theirs): an empty list, nothing deleted.
    other = await api_key(client)
    theirs = await client.get(f"{V3}/visits/orphan", headers=other)
    assert theirs.json()["visits"]["data"] == []
    assert (await client.get(f"{V3}/visits", headers=other)).json()["visits"][
        "orphanVisitsCount"
    ] == 0
    nothing = await client.delete(f"{V3}/visits/orphan", headers=other)
    assert nothing.json() == {"deletedVisits": 0}

    deleted = await client.delete(f"{V3}/visits/orphan", headers=key)
    assert deleted.json() == {"deletedVisits": 3}
    after = await client.get(f"{V3}/visits/orphan", headers=key)
    assert after.json()["visits"]["pagination"]["totalItems"] == 0
