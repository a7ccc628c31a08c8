from tests.factories import eventually, make_link, make_user


async def test_shorten_follow_count(client, app) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, alias="smoke")
    response = await client.get("/smoke")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/page"

    async def counted() -> bool:
        r = await client.get("/api/links/smoke", headers=headers)
        return r.json()["clicks"] == 1

    await eventually(counted)
    assert link["short_url"] == "http://short.test/smoke"
