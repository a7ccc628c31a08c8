from tests.factories import all_clicks, eventually, make_link, make_user


async def test_shorten_follow_count(client, app) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, alias="smoke")
    response = await client.get("/smoke")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/page"

    async def counted() -> bool:
        r = await client.get("/api/links/smoke", headers=headers)
        return all_clicks(r.json()) == 1

    await eventually(counted)
    assert link["short_url"] == "http://short.test/smoke"
