"""POST /api/links: keys (random, md5, alias), URL rules and every optional field."""

from __future__ import annotations

import asyncio
import hashlib
import re
import string
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_link, make_user

BASE62 = string.digits + string.ascii_letters
LINK_FIELDS = {
    "key",
    "short_url",
    "url",
    "title",
    "created_at",
    "updated_at",
    "expires_at",
    "max_clicks",
    "redirect_type",
    "has_password",
    "is_active",
    "tags",
    "clicks",
    "bot_clicks",  # bots' redirects, apart from `clicks` (issue 18, item 3)
    "domain",  # custom domains (API.md, "Domains")
    "notes",  # what was done to the URL as typed (issue 18, item 9)
    # the link-features extension (API.md, "More link fields")
    "rules",
    "variants",
    "forward_query",
    "forward_path",
    "fallback_url",
    "og_title",
    "og_description",
    "og_image",
}


def base62_md5(url: str) -> str:
    """The URL's MD5 as a base62 number, most significant digit first (written independently)."""
    number = int(hashlib.md5(url.encode()).hexdigest(), 16)
    out = ""
    while number:
        number, digit = divmod(number, 62)
        out = BASE62[digit] + out
    return out


async def test_create_answers_201_with_the_link(client) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/links", json={"url": "https://example.com/a"}, headers=headers
    )
    assert response.status_code == 201, response.text
    link = response.json()
    assert set(link) == LINK_FIELDS
    assert link["url"] == "https://example.com/a"
    assert link["short_url"] == f"http://short.test/{link['key']}"
    assert link["redirect_type"] == 302
    assert link["has_password"] is False
    assert link["is_active"] is True
    assert link["tags"] == []
    assert link["clicks"] == 0
    assert link["title"] is None and link["expires_at"] is None and link["max_clicks"] is None


async def test_random_keys_are_7_base62_characters_and_differ(client) -> None:
    headers = await make_user(client)
    keys = set()
    for strategy in (None, "random", "random", "random"):
        body = {"url": "https://example.com/same"}
        if strategy:
            body["key_strategy"] = strategy
        response = await client.post("/api/links", json=body, headers=headers)
        assert response.status_code == 201
        keys.add(response.json()["key"])
    assert len(keys) == 4
    assert all(re.fullmatch(r"[0-9A-Za-z]{7}", key) for key in keys)


async def test_md5_key_is_the_first_7_base62_characters_of_the_md5(client) -> None:
    headers = await make_user(client)
    url = "https://example.com/md5-target"
    link = await make_link(client, headers, url=url, key_strategy="md5")
    assert link["key"] == base62_md5(url)[:7]


async def test_md5_same_user_same_url_answers_200_with_the_existing_link(client) -> None:
    headers = await make_user(client)
    url = "https://example.com/again"
    first = await make_link(client, headers, url=url, key_strategy="md5", title="first")
    again = await client.post(
        "/api/links", json={"url": url, "key_strategy": "md5"}, headers=headers
    )
    assert again.status_code == 200
    assert again.json()["key"] == first["key"]
    assert again.json()["title"] == "first"
    listed = await client.get("/api/links", headers=headers)
    assert listed.json()["total"] == 1


async def test_md5_same_url_other_user_gets_a_longer_key(client) -> None:
    url = "https://example.com/shared"
    mine = await make_link(client, await make_user(client), url=url, key_strategy="md5")
    theirs = await make_link(client, await make_user(client), url=url, key_strategy="md5")
    full = base62_md5(url)
    assert mine["key"] == full[:7]
    assert theirs["key"] == full[:8]


async def test_md5_key_is_lengthened_when_taken_by_another_url(client) -> None:
    headers = await make_user(client)
    url = "https://example.com/collides"
    full = base62_md5(url)
    squatter = await make_link(client, headers, url="https://example.org/other", alias=full[:7])
    link = await make_link(client, headers, url=url, key_strategy="md5")
    assert link["key"] == full[:8]
    # Both keys lead where they should.
    assert (await client.get(f"/{squatter['key']}")).headers["location"] == (
        "https://example.org/other"
    )
    assert (await client.get(f"/{link['key']}")).headers["location"] == url


async def test_random_after_md5_of_same_url_is_a_new_link(client) -> None:
    headers = await make_user(client)
    url = "https://example.com/both"
    md5 = await make_link(client, headers, url=url, key_strategy="md5")
    rnd = await make_link(client, headers, url=url)
    assert md5["key"] != rnd["key"]


async def test_alias_becomes_the_key(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, alias="My_alias-1")
    assert link["key"] == "My_alias-1"
    assert link["short_url"] == "http://short.test/My_alias-1"


async def test_taken_alias_is_409(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="taken")
    again = await client.post(
        "/api/links", json={"url": "https://example.com/x", "alias": "taken"}, headers=headers
    )
    assert again.status_code == 409
    assert "taken" in again.json()["detail"]
    other_user = await client.post(
        "/api/links",
        json={"url": "https://example.com/x", "alias": "taken"},
        headers=await make_user(client),
    )
    assert other_user.status_code == 409


async def test_keys_are_case_sensitive(client) -> None:
    headers = await make_user(client)
    lower = await make_link(client, headers, url="https://example.com/lower", alias="casekey")
    upper = await make_link(client, headers, url="https://example.com/upper", alias="CaseKey")
    assert lower["key"] != upper["key"]
    assert (await client.get("/casekey")).headers["location"] == "https://example.com/lower"
    assert (await client.get("/CaseKey")).headers["location"] == "https://example.com/upper"
    assert (await client.get("/CASEKEY")).status_code == 404
    assert (await client.get("/api/links/CaseKey", headers=headers)).json()["url"] == (
        "https://example.com/upper"
    )


async def test_alias_race_one_wins(client) -> None:
    """Two concurrent creates of one alias: the unique constraint decides, not a read."""
    a, b = await make_user(client), await make_user(client)
    answers = await asyncio.gather(
        client.post(
            "/api/links", json={"url": "https://example.com/a", "alias": "raced"}, headers=a
        ),
        client.post(
            "/api/links", json={"url": "https://example.com/b", "alias": "raced"}, headers=b
        ),
    )
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    winner = next(r for r in answers if r.status_code == 201).json()
    assert (await client.get("/raced")).headers["location"] == winner["url"]


async def test_alias_race_many_contenders(client) -> None:
    users = [await make_user(client) for _ in range(6)]
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/links",
                json={"url": f"https://example.com/{i}", "alias": "crowded"},
                headers=h,
            )
            for i, h in enumerate(users)
        )
    )
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5


@pytest.mark.parametrize(
    "alias",
    [
        "ab",
        "x" * 65,
        "has space",
        "sl/ash",
        "dot.ted",
        "ümlaut",
        "",
        "api",
        "API",
        "docs",
        "static",
        "login",
        "logout",
        "register",
        "dashboard",
        "healthz",
        "readyz",
        "openapi.json",
    ],
)
async def test_bad_or_reserved_alias_is_422(client, alias) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/links", json={"url": "https://example.com/", "alias": alias}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("alias", ["abc", "x" * 64, "a_b-C9", "---", "api2", "docs_"])
async def test_good_aliases_are_accepted(client, alias) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, alias=alias)
    assert link["key"] == alias
    assert (await client.get(f"/{alias}")).status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "javascript:alert(1)",
        "data:text/html,hi",
        "mailto:a@example.com",
        "file:///etc/passwd",
        "https://",
        "http:///path-only",
        "https://exa mple.com/",
        "https://example.com/\nx",
        "https://example.com:99999/",
        "https://example.com:port/",
        "",
        "   ",
        "https://" + "a" * 2040 + ".com",
        "http://short.test/loop",
        "https://SHORT.TEST/loop",
        "https://short.test./loop",
        "http://short.test:8080/loop",
    ],
)
async def test_bad_urls_are_422(client, url) -> None:
    headers = await make_user(client)
    response = await client.post("/api/links", json={"url": url}, headers=headers)
    assert response.status_code == 422, (url, response.text)
    assert response.json()["detail"]


async def test_url_of_exactly_2048_characters_is_accepted(client) -> None:
    headers = await make_user(client)
    url = "https://example.com/" + "p" * (2048 - len("https://example.com/"))
    assert len(url) == 2048
    link = await make_link(client, headers, url=url)
    assert link["url"] == url
    too_long = await client.post("/api/links", json={"url": url + "p"}, headers=headers)
    assert too_long.status_code == 422


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("http://example.com", "http://example.com/"),
        ("HTTPS://Example.COM/Path?q=1#frag", "https://example.com/Path?q=1#frag"),
        # 127.0.0.1 is this machine (a loop, refused); a private address is an intranet's.
        ("https://0x0a000001:8080/", "https://10.0.0.1:8080/"),
    ],
)
async def test_good_urls_are_accepted_and_stored_as_browsers_read_them(client, url, stored) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, url=url)
    assert link["url"] == stored


async def test_idn_host_is_accepted_and_redirects_to_punycode(client) -> None:
    headers = await make_user(client)
    url = "https://bücher.example/straße?q=ü"
    link = await make_link(client, headers, url=url)
    assert link["url"] == "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC"
    response = await client.get(f"/{link['key']}")
    assert response.status_code == 302
    assert response.headers["location"] == "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC"


async def test_every_optional_field_round_trips(client) -> None:
    headers = await make_user(client)
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    body = {
        "url": "https://example.com/full",
        "title": "A title",
        "expires_at": expires.isoformat(),
        "max_clicks": 10,
        "password": "sesame",
        "redirect_type": 307,
        "tags": ["news", "work"],
    }
    created = await client.post("/api/links", json=body, headers=headers)
    assert created.status_code == 201, created.text
    fetched = await client.get(f"/api/links/{created.json()['key']}", headers=headers)
    for link in (created.json(), fetched.json()):
        assert link["title"] == "A title"
        assert datetime.fromisoformat(link["expires_at"]) == expires
        assert link["max_clicks"] == 10
        assert link["has_password"] is True
        assert link["redirect_type"] == 307
        assert sorted(link["tags"]) == ["news", "work"]
        assert "password" not in link and "password_hash" not in link
        assert "sesame" not in str(link)


async def test_naive_expires_at_is_taken_as_utc(client) -> None:
    headers = await make_user(client)
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    link = await make_link(client, headers, expires_at=naive.isoformat())
    assert datetime.fromisoformat(link["expires_at"]) == naive.replace(tzinfo=UTC)


async def test_past_expires_at_is_422(client) -> None:
    headers = await make_user(client)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = await client.post(
        "/api/links", json={"url": "https://example.com/", "expires_at": past}, headers=headers
    )
    assert response.status_code == 422


@pytest.mark.parametrize("redirect_type", [301, 302, 307, 308])
async def test_each_redirect_type_is_accepted(client, redirect_type) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, redirect_type=redirect_type)
    assert link["redirect_type"] == redirect_type


@pytest.mark.parametrize("redirect_type", [200, 300, 303, 304, 404, "302", None, 3.02])
async def test_other_redirect_types_are_422(client, redirect_type) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/links",
        json={"url": "https://example.com/", "redirect_type": redirect_type},
        headers=headers,
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("max_clicks", [0, -1, "many", 2**63])
async def test_bad_max_clicks_is_422(client, max_clicks) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/links",
        json={"url": "https://example.com/", "max_clicks": max_clicks},
        headers=headers,
    )
    assert response.status_code == 422


async def test_tags_are_trimmed_and_deduplicated(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, tags=[" a ", "a", "b"])
    assert sorted(link["tags"]) == ["a", "b"]


async def test_unknown_key_strategy_is_422(client) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/links",
        json={"url": "https://example.com/", "key_strategy": "sha1"},
        headers=headers,
    )
    assert response.status_code == 422
