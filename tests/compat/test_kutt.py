"""Kutt's API v2: ShareX's Kutt profile replayed, Kutt's link object and page, edit, delete,
stats, and every failure as {"error": ...} with a 4xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shortener.compat.kutt.schemas import kutt_id, link_id_of, parse_expire_in
from tests.compat import clients
from tests.factories import eventually, make_link, make_user

LINK_FIELDS = {"id", "address", "banned", "banned_by_id", "description", "domain", "expire_in",
               "link", "password", "target", "visit_count", "created_at", "updated_at"}  # fmt: skip


async def new_key(client, headers, *scopes: str) -> dict[str, str]:
    body = {"name": "kutt", **({"scopes": list(scopes)} if scopes else {})}
    response = await client.post("/api/keys", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return {"X-API-KEY": response.json()["key"]}


@pytest.mark.parametrize("profile_name", ["kutt.sxcu", "kutt-v13.sxcu"])
async def test_sharex_profile(client, profile_name: str) -> None:
    headers = await make_user(client)
    key = (await new_key(client, headers))["X-API-KEY"]
    profile = clients.load(profile_name)
    response = await clients.send(
        client, profile, {"input": "https://sharex.example/k", "YOUR_API_KEY": key}
    )
    assert response.status_code == 201, response.text
    short = clients.result_url(profile, response)
    redirect = await client.get(short.removeprefix("http://short.test"))
    assert (redirect.status_code, redirect.headers["location"]) == (302, "https://sharex.example/k")


async def test_create_with_kutt_fields(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    body = {"target": "https://kutt.example/a", "customurl": "kutt-a", "password": "pw",
            "expire_in": "2 minutes", "description": "A", "domain": "short.test"}  # fmt: skip
    made = await client.post("/api/v2/links", json=body, headers=key)
    assert made.status_code == 201, made.text
    link = made.json()
    assert set(link) == LINK_FIELDS
    assert (link["address"], link["link"], link["target"]) == (
        "kutt-a", "http://short.test/kutt-a", "https://kutt.example/a",
    )  # fmt: skip
    assert link["password"] is True and link["description"] == "A" and link["visit_count"] == 0
    expires = datetime.fromisoformat(link["expire_in"])
    assert timedelta(seconds=100) < expires - datetime.now(UTC) < timedelta(seconds=130)
    assert link_id_of(link["id"]) is not None
    # The same link through our own API.
    ours = (await client.get("/api/links/kutt-a", headers=headers)).json()
    assert ours["has_password"] and ours["title"] == "A"

    # reuse: the user's link to that target, 200 instead of a new one.
    reused = await client.post(
        "/api/v2/links", json={"target": "https://kutt.example/a", "reuse": True}, headers=key
    )
    assert reused.status_code == 200 and reused.json()["id"] == link["id"]
    fresh = await client.post("/api/v2/links", json={"target": "https://kutt.example/a"},
                              headers=key)  # fmt: skip
    assert fresh.status_code == 201 and fresh.json()["id"] != link["id"]

    for bad, words in (
        ({"target": "https://x.example/", "customurl": "kutt-a"}, "already taken"),
        ({"target": "https://x.example/", "domain": "elsewhere.example"}, "elsewhere.example"),
        ({"target": "https://x.example/", "expire_in": "30 seconds"}, "more than 1 minute"),
        ({"target": "https://x.example/", "expire_in": "soon"}, "Expire format"),
        ({"target": "https://x.example/", "customurl": "no spaces"}, "customurl"),
        ({"target": "ftp://x.example/"}, "http"),
        ({"target": "http://short.test/kutt-a"}, "back"),
        ({}, "target"),
    ):
        refused = await client.post("/api/v2/links", json=bad, headers=key)
        assert 400 <= refused.status_code < 500, (bad, refused.text)
        assert list(refused.json()) == ["error"], refused.text
        assert words in refused.json()["error"], (bad, refused.json())


async def test_links_on_a_custom_domain(client) -> None:
    """`domain` names one of the caller's verified domains; the link lives and is found there."""
    admin = await make_user(client, admin=True)
    added = await client.post(
        "/api/domains", json={"hostname": "go.example.test", "verified": True}, headers=admin
    )
    assert added.status_code == 201, added.text
    key = await new_key(client, admin)
    made = await client.post(
        "/api/v2/links",
        json={"target": "https://kutt.example/d", "customurl": "same", "domain": "go.example.test"},
        headers=key,
    )
    assert made.status_code == 201, made.text
    assert made.json()["link"] == "http://go.example.test/same"
    # The same address on the default domain is another link.
    default = await client.post(
        "/api/v2/links", json={"target": "https://kutt.example/e", "customurl": "same"}, headers=key
    )
    assert default.status_code == 201, default.text
    assert default.json()["link"] == "http://short.test/same"
    kutt = made.json()["id"]
    edited = await client.patch(
        f"/api/v2/links/{kutt}", json={"target": "https://kutt.example/d2"}, headers=key
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["target"] == "https://kutt.example/d2"
    assert (await client.get(f"/api/v2/links/{kutt}/stats", headers=key)).status_code == 200
    # `reuse` answers with the link to the target on the domain asked for, not another's.
    reuse = {"target": "https://kutt.example/e", "reuse": True}
    elsewhere = await client.post(
        "/api/v2/links", json={**reuse, "domain": "go.example.test"}, headers=key
    )
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["link"].startswith("http://go.example.test/")
    again = await client.post(
        "/api/v2/links", json={**reuse, "domain": "go.example.test"}, headers=key
    )
    assert (again.status_code, again.json()["link"]) == (200, elsewhere.json()["link"])
    reused = await client.post("/api/v2/links", json=reuse, headers=key)
    assert (reused.status_code, reused.json()["link"]) == (200, "http://short.test/same")
    there = await client.get("/same", headers={"Host": "go.example.test"})
    assert there.headers["location"] == "https://kutt.example/d2"
    assert (await client.delete(f"/api/v2/links/{kutt}", headers=key)).status_code == 200
    assert (await client.get("/same")).headers["location"] == "https://kutt.example/e"


async def test_list_edit_delete(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    for n in range(3):
        await make_link(client, headers, url=f"https://list.example/{n}", alias=f"list-{n}")
    page = (await client.get("/api/v2/links", params={"limit": 2, "skip": 1}, headers=key)).json()
    assert (page["limit"], page["skip"], page["total"]) == (2, 1, 3)
    assert [link["address"] for link in page["data"]] == ["list-1", "list-0"]
    capped = (await client.get("/api/v2/links", params={"limit": 500}, headers=key)).json()
    assert capped["limit"] == 50 and len(capped["data"]) == 3
    found = (await client.get("/api/v2/links", params={"search": "list-2"}, headers=key)).json()
    assert [link["address"] for link in found["data"]] == ["list-2"]

    link_id = page["data"][0]["id"]
    edited = await client.patch(
        f"/api/v2/links/{link_id}",
        json={"target": "https://list.example/new", "description": "New", "address": "list-1"},
        headers=key,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["target"], edited.json()["description"]) == (
        "https://list.example/new", "New",
    )  # fmt: skip
    assert (await client.get("/list-1")).headers["location"] == "https://list.example/new"
    renamed = await client.patch(f"/api/v2/links/{link_id}", json={"address": "other"},
                                 headers=key)  # fmt: skip
    assert renamed.status_code == 400 and "address" in renamed.json()["error"]
    # The address works as an id too.
    by_address = await client.patch("/api/v2/links/list-1", json={"description": ""},
                                    headers=key)  # fmt: skip
    assert by_address.status_code == 200 and by_address.json()["description"] is None

    deleted = await client.delete(f"/api/v2/links/{link_id}", headers=key)
    assert deleted.status_code == 200
    assert deleted.json() == {"message": "Link has been deleted successfully."}
    assert (await client.get("/list-1")).status_code == 404
    again = await client.delete(f"/api/v2/links/{link_id}", headers=key)
    assert again.status_code == 404 and again.json() == {"error": "Link was not found."}

    # Another user's link does not exist for this key, by id or by address.
    other = await make_user(client)
    theirs = await make_link(client, other, url="https://theirs.example/", alias="theirs-k")
    mine = (await client.get("/api/v2/links", params={"limit": 50}, headers=key)).json()
    assert "theirs-k" not in [link["address"] for link in mine["data"]]
    for ident in ("theirs-k", kutt_id(999_999)):
        assert (await client.delete(f"/api/v2/links/{ident}", headers=key)).status_code == 404
    assert (await client.get("/theirs-k")).headers["location"] == theirs["url"]


async def test_stats(client) -> None:
    headers = await make_user(client)
    key = await new_key(client, headers)
    made = (await client.post("/api/v2/links", json={"target": "https://stats.example/"},
                              headers=key)).json()  # fmt: skip
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 "
               "Firefox/120.0", "Referer": "https://news.example/item"}  # fmt: skip
    for _ in range(2):
        assert (await client.get(f"/{made['address']}", headers=browser)).status_code == 302

    async def counted() -> bool:
        r = await client.get(f"/api/v2/links/{made['id']}/stats", headers=key)
        return bool(r.json()["visit_count"] == 2)

    await eventually(counted)
    stats = (await client.get(f"/api/v2/links/{made['id']}/stats", headers=key)).json()
    assert set(stats) == LINK_FIELDS | {"lastDay", "lastWeek", "lastMonth", "allTime", "updatedAt"}
    assert len(stats["lastDay"]["views"]) == 24 and sum(stats["lastDay"]["views"]) == 2
    assert len(stats["lastWeek"]["views"]) == 7 and len(stats["lastMonth"]["views"]) == 30
    assert sum(stats["allTime"]["views"]) == 2 and len(stats["allTime"]["views"]) <= 19
    assert stats["lastDay"]["stats"]["browser"] == [{"name": "Firefox", "value": 2}]
    assert stats["lastDay"]["stats"]["referrer"] == [{"name": "news.example", "value": 2}]
    assert set(stats["allTime"]["stats"]) == {"browser", "os", "country", "referrer"}


async def test_auth_health_users_and_errors(client) -> None:
    headers = await make_user(client)
    assert (await client.get("/api/v2/health")).text == "OK"
    anonymous = await client.get("/api/v2/links")
    assert anonymous.status_code == 401 and list(anonymous.json()) == ["error"]
    wrong = await client.get("/api/v2/links", headers={"X-API-KEY": "sk_nope"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid API key"}
    reader = await new_key(client, headers, "links:read")
    refused = await client.post("/api/v2/links", json={"target": "https://x.example/"},
                                headers=reader)  # fmt: skip
    assert refused.status_code == 403 and "links:write" in refused.json()["error"]
    no_stats = await client.get(f"/api/v2/links/{kutt_id(1)}/stats", headers=reader)
    assert no_stats.status_code == 403
    me = await client.get("/api/v2/users", headers=reader)
    assert me.status_code == 200 and me.json()["domains"] == []

    writer = await new_key(client, headers)
    for method, path, kwargs in (
        ("POST", "/api/v2/links", {"content": b"{not json"}),
        ("POST", "/api/v2/links", {"json": ["target"]}),
        ("POST", "/api/v2/links", {"json": {"target": "https://x.example/", "reuse": "maybe"}}),
        ("POST", "/api/v2/links", {"json": {"target": "x" * 5000}}),
        ("POST", "/api/v2/links", {"json": {"target": "https://x.example/\x00"}}),
        ("POST", "/api/v2/links", {"json": {"target": "https://x.example/", "expire_in": "9e99y"}}),
        ("GET", "/api/v2/links", {"params": {"limit": "many"}}),
        ("GET", "/api/v2/links", {"params": {"skip": "-1"}}),
        ("PATCH", "/api/v2/links/%00", {"json": {}}),
        ("PATCH", "/api/v2/links/" + "a" * 300, {"json": {}}),
        ("DELETE", "/api/v2/links/00000000-0000-0000-0000-000000000000", {}),
        ("DELETE", "/api/v2/links/4b757474-0000-4000-8000-ffffffffffff", {}),
        ("PATCH", "/api/v2/links/4b757474-0000-4000-8000-000080000000", {"json": {}}),
        ("GET", "/api/v2/links/not-a-link/stats", {}),
    ):
        headers_ = {**writer, **({"Content-Type": "application/json"} if "content" in kwargs
                                 else {})}  # fmt: skip
        response = await client.request(method, path, headers=headers_, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, kwargs, response.text)
        assert list(response.json()) == ["error"], response.text


async def test_search_refuses_control_characters(client) -> None:
    """A NUL in `search` was a generic 422 on PostgreSQL (not Kutt's error shape) and, on
    SQLite, ended the LIKE pattern early: search=%00 listed every link."""
    headers = await make_user(client)
    await make_link(client, headers, url="https://e.com/kutt-search")
    key = await new_key(client, headers)
    for value in ("\x00", "kutt\x00", "a\x1bb"):
        response = await client.get("/api/v2/links", params={"search": value}, headers=key)
        assert response.status_code == 400, response.text
        assert list(response.json()) == ["error"] and "control characters" in response.text
    found = await client.get("/api/v2/links", params={"search": "KUTT-SEARCH"}, headers=key)
    assert found.json()["total"] == 1


def test_ids_and_durations() -> None:
    for link_id in (1, 42, 2**31 - 1):
        assert link_id_of(kutt_id(link_id)) == link_id
    assert link_id_of("6f9619ff-8b86-d011-b42d-00c04fc964ff") is None
    assert link_id_of("nope") is None
    assert link_id_of("4b757474-0000-4000-8000-000080000000") is None  # past the integers
    assert parse_expire_in("1 day") == timedelta(days=1)
    assert parse_expire_in("2.5 hrs") == timedelta(hours=2.5)
    assert parse_expire_in("90000") == timedelta(seconds=90)
    assert parse_expire_in("1m") == timedelta(minutes=1)
    for bad in ("59s", "1 fortnight", "", "-5m", "1e3m", "100y"):
        with pytest.raises(ValueError):
            parse_expire_in(bad)
