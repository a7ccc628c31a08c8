"""`GET /api/stats`: the account overview the dashboard shows."""

from __future__ import annotations

from tests.clicks.traffic import GOOGLEBOT, visit, wait_written
from tests.factories import make_link, make_user


async def test_account_overview(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="top-one", title="Top")
    await make_link(client, headers, alias="top-two")
    await make_link(client, headers, alias="quiet")
    other = await make_user(client)
    await make_link(client, other, alias="not-mine")
    for _ in range(3):
        await visit(client, "top-one", ip="81.2.69.142")
    await visit(client, "top-two", ip="8.8.8.8")
    await visit(client, "top-two", ip="8.8.8.8", ua=GOOGLEBOT)
    await visit(client, "not-mine", ip="8.8.8.8")
    await wait_written(app, 6)

    response = await client.get("/api/stats", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_clicks"] == 4
    assert body["unique_visitors"] == 2
    assert body["links"] == 3
    assert len(body["timeseries"]) == 31
    assert body["timeseries"][-1]["clicks"] == 4
    assert [(t["key"], t["clicks"]) for t in body["top_links"]] == [("top-one", 3), ("top-two", 1)]
    assert body["top_links"][0]["short_url"] == "http://short.test/top-one"
    assert body["top_links"][0]["title"] == "Top"

    bots = (await client.get("/api/stats?include_bots=true&top=1", headers=headers)).json()
    assert bots["total_clicks"] == 5
    assert [t["key"] for t in bots["top_links"]] == ["top-one"]

    assert (await client.get("/api/stats?from=nope", headers=headers)).status_code == 422
    assert (await client.get("/api/stats")).status_code == 401
