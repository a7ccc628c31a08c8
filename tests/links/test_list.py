"""GET /api/links and GET /api/links/{key}: pages, order, search, tags, ownership."""

from __future__ import annotations

import pytest

from tests.factories import make_link, make_user


async def test_list_pages_newest_first(client) -> None:
    headers = await make_user(client)
    keys = [(await make_link(client, headers, alias=f"page{i:02d}"))["key"] for i in range(25)]
    newest_first = list(reversed(keys))

    first = (await client.get("/api/links", headers=headers)).json()
    assert (first["total"], first["limit"], first["offset"]) == (25, 20, 0)
    assert [link["key"] for link in first["items"]] == newest_first[:20]

    second = (await client.get("/api/links?limit=20&offset=20", headers=headers)).json()
    assert (second["total"], second["limit"], second["offset"]) == (25, 20, 20)
    assert [link["key"] for link in second["items"]] == newest_first[20:]

    small = (await client.get("/api/links?limit=3&offset=5", headers=headers)).json()
    assert [link["key"] for link in small["items"]] == newest_first[5:8]

    past_end = (await client.get("/api/links?offset=100", headers=headers)).json()
    assert past_end["items"] == [] and past_end["total"] == 25


async def test_limit_bounds(client) -> None:
    headers = await make_user(client)
    for i in range(3):
        await make_link(client, headers, alias=f"lim{i}")
    assert (await client.get("/api/links?limit=1", headers=headers)).json()["limit"] == 1
    assert (await client.get("/api/links?limit=100", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=-5", "offset=-1", "limit=ten", "offset=x"]
)
async def test_bad_paging_is_422(client, query) -> None:
    headers = await make_user(client)
    response = await client.get(f"/api/links?{query}", headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_q_searches_url_title_and_key(client) -> None:
    headers = await make_user(client)
    by_url = await make_link(client, headers, url="https://needle.example.com/")
    by_title = await make_link(client, headers, title="A NeEdLe in the title")
    by_key = await make_link(client, headers, alias="the-needle-key")
    await make_link(client, headers, url="https://hay.example.com/", title="hay")

    found = (await client.get("/api/links?q=needle", headers=headers)).json()
    assert found["total"] == 3
    assert {link["key"] for link in found["items"]} == {
        by_url["key"],
        by_title["key"],
        by_key["key"],
    }


async def test_q_treats_like_wildcards_literally(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, title="100% sure")
    await make_link(client, headers, title="1000 sure")
    await make_link(client, headers, title="snake_case")
    await make_link(client, headers, title="snakeXcase")
    assert (await client.get("/api/links?q=100%25", headers=headers)).json()["total"] == 1
    assert (await client.get("/api/links?q=snake_", headers=headers)).json()["total"] == 1


async def test_tag_filter(client) -> None:
    headers = await make_user(client)
    a = await make_link(client, headers, tags=["red", "blue"])
    b = await make_link(client, headers, tags=["red"])
    await make_link(client, headers, tags=["green"])
    red = (await client.get("/api/links?tag=red", headers=headers)).json()
    assert red["total"] == 2
    assert {link["key"] for link in red["items"]} == {a["key"], b["key"]}
    blue = (await client.get("/api/links?tag=blue&q=", headers=headers)).json()
    assert [link["key"] for link in blue["items"]] == [a["key"]]
    assert (await client.get("/api/links?tag=nope", headers=headers)).json()["total"] == 0


async def test_list_shows_only_my_links_and_admins_see_all(client) -> None:
    alice, bob = await make_user(client), await make_user(client)
    mine = await make_link(client, alice, alias="alices")
    theirs = await make_link(client, bob, alias="bobs")
    listed = (await client.get("/api/links", headers=alice)).json()
    assert [link["key"] for link in listed["items"]] == [mine["key"]]
    assert listed["total"] == 1
    searched = (await client.get("/api/links?q=bobs", headers=alice)).json()
    assert searched["total"] == 0

    admin = await make_user(client, admin=True)
    everything = (await client.get("/api/links", headers=admin)).json()
    assert {link["key"] for link in everything["items"]} == {mine["key"], theirs["key"]}


async def test_get_answers_the_link(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, title="get me")
    response = await client.get(f"/api/links/{link['key']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == link


async def test_get_unknown_key_is_404(client) -> None:
    headers = await make_user(client)
    response = await client.get("/api/links/nosuchkey", headers=headers)
    assert response.status_code == 404
    assert response.json()["detail"]


async def test_another_users_link_is_404_everywhere(client) -> None:
    alice, bob = await make_user(client), await make_user(client)
    link = await make_link(client, alice, alias="private")
    for method, body in (("GET", None), ("PATCH", {"title": "mine now"}), ("DELETE", None)):
        response = await client.request(method, "/api/links/private", json=body, headers=bob)
        assert response.status_code == 404, (method, response.text)
        assert response.json() == {"detail": "link not found"}
    # Identical to a key that does not exist at all.
    missing = await client.get("/api/links/nosuchkey", headers=bob)
    assert missing.json() == {"detail": "link not found"}
    # And nothing changed.
    unchanged = (await client.get("/api/links/private", headers=alice)).json()
    assert unchanged == link
    assert (await client.get("/private")).status_code == 302


async def test_admin_sees_and_changes_every_link(client) -> None:
    alice = await make_user(client)
    admin = await make_user(client, admin=True)
    await make_link(client, alice, alias="alices-link")
    assert (await client.get("/api/links/alices-link", headers=admin)).status_code == 200
    patched = await client.patch(
        "/api/links/alices-link", json={"title": "by admin"}, headers=admin
    )
    assert patched.status_code == 200 and patched.json()["title"] == "by admin"
    assert (await client.get("/api/links/alices-link", headers=alice)).json()["title"] == (
        "by admin"
    )
    assert (await client.delete("/api/links/alices-link", headers=admin)).status_code == 204
    assert (await client.get("/api/links/alices-link", headers=alice)).status_code == 404
