"""Shlink's short-URL routes over our links: shapes, fields, filters, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.compat.shlink.helpers import api_key, assert_problem
from tests.factories import make_link, make_user

V3 = "/rest/v3"


async def test_health_is_public_with_a_4x_version(client: httpx.AsyncClient) -> None:
    for path in ("/rest/health", "/rest/v3/health", "/rest/v2/health"):
        response = await client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "pass" and body["version"].startswith("4.")


async def test_missing_and_invalid_keys_answer_shlinks_problems(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get(f"{V3}/short-urls"), 401, "missing-authentication")
    assert body["expectedTypes"] == ["X-Api-Key"]
    bad = await client.get(f"{V3}/short-urls", headers={"X-Api-Key": "sk_nope"})
    assert_problem(bad, 401, "invalid-api-key")


async def test_a_key_without_the_scope_is_refused(client: httpx.AsyncClient) -> None:
    reader = await api_key(client, ["links:read"])
    response = await client.post(
        f"{V3}/short-urls", json={"longUrl": "https://example.com/"}, headers=reader
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"{V3}/short-urls", headers=reader)).status_code == 200


async def test_create_json_answers_shlinks_short_url(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    response = await client.post(
        f"{V3}/short-urls",
        json={
            "longUrl": "https://example.com/a",
            "customSlug": "my-slug",
            "tags": ["b", "a"],
            "title": "A page",
            "maxVisits": 5,
            "validUntil": until.isoformat(),
            "crawlable": True,
            "unknownField": 1,
        },
        headers=key,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "shortCode": "my-slug",
        "shortUrl": "http://short.test/my-slug",
        "longUrl": "https://example.com/a",
        "dateCreated": body["dateCreated"],
        "visitsSummary": {"total": 0, "nonBots": 0, "bots": 0},
        "tags": ["a", "b"],
        "meta": {"validSince": None, "validUntil": until.isoformat(), "maxVisits": 5},
        "domain": None,
        "title": "A page",
        "crawlable": False,
        "forwardQuery": True,  # Shlink's default
        "hasRedirectRules": False,
    }
    assert datetime.fromisoformat(body["dateCreated"]).tzinfo is not None
    # The same link through our own API: one set of links.
    ours = await client.get("/api/links/my-slug", headers=key)
    assert ours.json()["forward_query"] is True and ours.json()["max_clicks"] == 5


async def test_create_from_a_form(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    response = await client.post(
        f"{V3}/short-urls",
        data={"longUrl": "https://example.com/f", "tags[]": ["x", "y"], "forwardQuery": "false"},
        headers=key,
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["x", "y"]
    assert response.json()["forwardQuery"] is False


async def test_create_errors(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    url = f"{V3}/short-urls"
    await client.post(
        url, json={"longUrl": "https://example.com/", "customSlug": "taken"}, headers=key
    )
    again = await client.post(
        url, json={"longUrl": "https://example.com/", "customSlug": "taken"}, headers=key
    )
    assert assert_problem(again, 400, "non-unique-slug")["customSlug"] == "taken"
    bad = await client.post(url, json={"longUrl": "not a url"}, headers=key)
    assert assert_problem(bad, 400, "invalid-data")["invalidElements"] == ["longUrl"]
    missing = await client.post(url, json={}, headers=key)
    assert "longUrl" in assert_problem(missing, 400, "invalid-data")["invalidElements"]  # type: ignore[operator]
    garbage = await client.post(
        url, content=b"{", headers={**key, "Content-Type": "application/json"}
    )
    assert_problem(garbage, 400, "invalid-data")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    since = await client.post(
        url, json={"longUrl": "https://e.com/", "validSince": future}, headers=key
    )
    assert assert_problem(since, 400, "invalid-data")["invalidElements"] == ["validSince"]
    domain = await client.post(
        url, json={"longUrl": "https://e.com/", "domain": "other.test"}, headers=key
    )
    assert assert_problem(domain, 404, "domain-not-found")["authority"] == "other.test"
    default = await client.post(
        url, json={"longUrl": "https://e.com/d", "domain": "short.test"}, headers=key
    )
    assert default.status_code == 200


async def test_find_if_exists(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    url = f"{V3}/short-urls"
    first = (
        await client.post(url, json={"longUrl": "https://e.com/x", "tags": ["t"]}, headers=key)
    ).json()
    same = await client.post(
        url, json={"longUrl": "https://e.com/x", "tags": ["t"], "findIfExists": True}, headers=key
    )
    assert same.json()["shortCode"] == first["shortCode"]
    other = await client.post(
        url, json={"longUrl": "https://e.com/x", "findIfExists": True}, headers=key
    )
    assert other.json()["shortCode"] != first["shortCode"]  # other tags: a new one


async def test_shorten_by_get(client: httpx.AsyncClient) -> None:
    key = (await api_key(client))["X-Api-Key"]
    txt = await client.get(
        f"{V3}/short-urls/shorten",
        params={"apiKey": key, "longUrl": "https://e.com/s", "format": "txt"},
    )
    assert txt.status_code == 200 and txt.headers["content-type"].startswith("text/plain")
    assert txt.text.startswith("http://short.test/")
    as_json = await client.get(
        f"{V3}/short-urls/shorten", params={"apiKey": key, "longUrl": "https://e.com/j"}
    )
    assert as_json.json()["longUrl"] == "https://e.com/j"
    no_key = await client.get(f"{V3}/short-urls/shorten", params={"longUrl": "https://e.com/"})
    assert_problem(no_key, 401, "missing-authentication")
    bad_key = await client.get(
        f"{V3}/short-urls/shorten", params={"apiKey": "sk_x", "longUrl": "https://e.com/"}
    )
    assert_problem(bad_key, 401, "invalid-api-key")
    # X-Workspace as on every route: a key acts in its own workspace, never another named.
    elsewhere = await client.get(
        f"{V3}/short-urls/shorten",
        params={"apiKey": key, "longUrl": "https://e.com/w"},
        headers={"X-Workspace": "not-this-keys"},
    )
    assert elsewhere.status_code == 404, elsewhere.text


async def test_get_edit_delete(client: httpx.AsyncClient) -> None:
    key = await api_key(client)
    code = (
        await client.post(f"{V3}/short-urls", json={"longUrl": "https://e.com/1"}, headers=key)
    ).json()["shortCode"]
    got = await client.get(f"{V3}/short-urls/{code}", params={"domain": "short.test"}, headers=key)
    assert got.json()["longUrl"] == "https://e.com/1"
    edited = await client.patch(
        f"{V3}/short-urls/{code}",
        json={
            "longUrl": "https://e.com/2",
            "title": "T",
            "tags": ["k"],
            "maxVisits": 3,
            "forwardQuery": False,
        },
        headers=key,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (
        body["longUrl"],
        body["title"],
        body["tags"],
        body["meta"]["maxVisits"],
        body["forwardQuery"],
    ) == (
        "https://e.com/2",
        "T",
        ["k"],
        3,
        False,
    )
    cleared = await client.patch(
        f"{V3}/short-urls/{code}", json={"maxVisits": None, "tags": []}, headers=key
    )
    assert cleared.json()["meta"]["maxVisits"] is None and cleared.json()["tags"] == []
    bad = await client.patch(f"{V3}/short-urls/{code}", json={"longUrl": "ftp://x"}, headers=key)
    assert assert_problem(bad, 400, "invalid-data")["invalidElements"] == ["longUrl"]
    assert (await client.delete(f"{V3}/short-urls/{code}", headers=key)).status_code == 204
    gone = await client.get(f"{V3}/short-urls/{code}", headers=key)
    assert assert_problem(gone, 404, "short-url-not-found")["shortCode"] == code
    other_domain = await client.get(
        f"{V3}/short-urls/{code}", params={"domain": "x.test"}, headers=key
    )
    assert_problem(other_domain, 404, "domain-not-found")


async def test_another_users_link_does_not_exist(client: httpx.AsyncClient) -> None:
    owner = await make_user(client)
    link = await make_link(client, owner)
    stranger = await api_key(client)
    response = await client.get(f"{V3}/short-urls/{link['key']}", headers=stranger)
    assert_problem(response, 404, "short-url-not-found")
    listed = await client.get(f"{V3}/short-urls", headers=stranger)
    assert listed.json()["shortUrls"]["data"] == []


async def _codes(client: httpx.AsyncClient, key: dict[str, str], **params: object) -> list[str]:
    response = await client.get(f"{V3}/short-urls", params=params, headers=key)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return [item["shortCode"] for item in response.json()["shortUrls"]["data"]]


async def test_list_filters_order_and_pagination(client: httpx.AsyncClient) -> None:
    bearer = await make_user(client)
    key = await api_key(client, bearer=bearer)
    await make_link(client, bearer, url="https://e.com/apple", alias="aaa", tags=["fruit", "red"])
    await make_link(
        client, bearer, url="https://e.com/banana", alias="bbb", tags=["fruit"], max_clicks=1
    )
    past = datetime.now(UTC) + timedelta(seconds=1)
    await make_link(
        client,
        bearer,
        url="https://e.com/cherry",
        alias="ccc",
        tags=["red"],
        expires_at=past.isoformat(),
    )
    page = await client.get(f"{V3}/short-urls", params={"itemsPerPage": 2, "page": 2}, headers=key)
    assert page.json()["shortUrls"]["pagination"] == {
        "currentPage": 2,
        "pagesCount": 2,
        "itemsPerPage": 2,
        "itemsInCurrentPage": 1,
        "totalItems": 3,
    }
    assert await _codes(client, key, orderBy="shortCode-ASC") == ["aaa", "bbb", "ccc"]
    assert await _codes(client, key, orderBy="longUrl-DESC") == ["ccc", "bbb", "aaa"]
    assert await _codes(client, key, searchTerm="BANANA") == ["bbb"]
    assert sorted(await _codes(client, key, **{"tags[]": ["fruit", "red"]})) == [
        "aaa",
        "bbb",
        "ccc",
    ]
    assert await _codes(client, key, **{"tags[]": ["fruit", "red"], "tagsMode": "all"}) == ["aaa"]
    assert sorted(await _codes(client, key, **{"excludeTags[]": ["red"]})) == ["bbb"]
    assert len(await _codes(client, key, itemsPerPage=-1)) == 3
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await _codes(client, key, startDate=tomorrow) == []
    assert len(await _codes(client, key, endDate=tomorrow)) == 3
    # bbb is used up once visited; ccc expires within a second.
    assert (await client.get("/bbb")).status_code in (301, 302)
    assert sorted(await _codes(client, key, excludeMaxVisitsReached="true")) == ["aaa", "ccc"]
    while datetime.now(UTC) <= past:
        await client.get("/rest/health")
    assert sorted(await _codes(client, key, excludePastValidUntil="true")) == ["aaa", "bbb"]
    bad_order = await client.get(f"{V3}/short-urls", params={"orderBy": "nope-UP"}, headers=key)
    assert_problem(bad_order, 400, "invalid-data")
    bad_date = await client.get(f"{V3}/short-urls", params={"startDate": "yesterday"}, headers=key)
    assert assert_problem(bad_date, 400, "invalid-data")["invalidElements"] == ["startDate"]
    bad_page = await client.get(f"{V3}/short-urls", params={"page": 0}, headers=key)
    assert_problem(bad_page, 400, "invalid-data")


@pytest.mark.parametrize("name", ["searchTerm", "tags[]", "excludeTags[]"])
async def test_list_filters_refuse_control_characters(client: httpx.AsyncClient, name: str) -> None:
    """A NUL in a filter was a generic 422 on PostgreSQL (the driver refused it) and, on
    SQLite, ended the LIKE pattern early: searchTerm=%00 listed every link."""
    bearer = await make_user(client)
    key = await api_key(client, bearer=bearer)
    await make_link(client, bearer, url="https://e.com/apple", alias="aaa", tags=["fruit"])
    for value in ("\x00", "fruit\x00", "a\x1bb"):
        response = await client.get(f"{V3}/short-urls", params={name: value}, headers=key)
        body = assert_problem(response, 400, "invalid-data")
        assert body["invalidElements"] == [name], body


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_both_versions_answer(client: httpx.AsyncClient, version: str) -> None:
    key = await api_key(client)
    response = await client.get(f"/rest/{version}/short-urls", headers=key)
    assert response.status_code == 200
    assert set(response.json()["shortUrls"]) == {"data", "pagination"}


async def test_unknown_routes_are_shlinks_not_found(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/rest/v3/nothing-here"), 404, "not-found")
