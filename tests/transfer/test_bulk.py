from __future__ import annotations

from tests.factories import make_link, make_user


async def test_bulk_answers_per_item(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="taken1")
    body = {
        "links": [
            {"url": "https://a.example/1", "alias": "bulk-one", "tags": ["x"]},
            {"url": "ftp://nope.example"},
            {"url": "https://a.example/2", "alias": "taken1"},
            {"url": "https://a.example/3", "unknown_field": 1},
            {"url": "https://a.example/4", "key_strategy": "md5"},
            {"url": "https://a.example/4", "key_strategy": "md5"},
            "not an object",
        ]
    }
    response = await client.post("/api/links/bulk", json=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == [
        "created",
        "error",
        "error",
        "error",
        "created",
        "existing",
        "error",
    ]
    assert results[0]["link"]["key"] == "bulk-one"
    assert results[0]["link"]["tags"] == ["x"]
    assert "http" in results[1]["detail"]
    assert "taken" in results[2]["detail"]
    assert "unknown_field" in results[3]["detail"]
    assert results[4]["link"]["key"] == results[5]["link"]["key"]
    assert "dictionary" in results[6]["detail"]
    # Every good item exists; the bad ones left nothing behind.
    listed = (await client.get("/api/links", headers=headers)).json()
    assert listed["total"] == 3
    follow = await client.get("/bulk-one")
    assert follow.status_code == 302


async def test_one_bad_item_does_not_roll_back_the_others(client) -> None:
    headers = await make_user(client)
    body = {
        "links": [
            {"url": "https://a.example/1", "alias": "same-alias"},
            {"url": "https://a.example/2", "alias": "same-alias"},
            {"url": "https://a.example/3", "alias": "other-alias"},
        ]
    }
    results = (await client.post("/api/links/bulk", json=body, headers=headers)).json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "created"]
    assert (await client.get("/same-alias")).headers["location"] == "https://a.example/1"
    assert (await client.get("/other-alias")).status_code == 302


async def test_over_1000_items_is_422(client) -> None:
    headers = await make_user(client)
    body = {"links": [{"url": f"https://a.example/{i}"} for i in range(1001)]}
    response = await client.post("/api/links/bulk", json=body, headers=headers)
    assert response.status_code == 422
    assert (await client.get("/api/links", headers=headers)).json()["total"] == 0


async def test_bulk_needs_links_write(client) -> None:
    headers = await make_user(client)
    key = (
        await client.post(
            "/api/keys", json={"name": "r", "scopes": ["links:read"]}, headers=headers
        )
    ).json()["key"]
    body = {"links": [{"url": "https://a.example"}]}
    response = await client.post("/api/links/bulk", json=body, headers={"X-API-Key": key})
    assert response.status_code == 403
    assert (await client.post("/api/links/bulk", json=body)).status_code == 401
