"""One definition of a click (issue 18, item 3): people's clicks everywhere by default, bots'
apart with their own figure, and a HEAD not a click at all. The link's `clicks`, its stats'
`total_clicks`, the dashboard's table and its overview agree."""

from __future__ import annotations

import re

from tests.clicks.traffic import CHROME_WINDOWS, CURL, visit, wait_written
from tests.factories import click_counts, make_link, token_for
from tests.web.test_pages import page_token, register


async def test_people_and_bots_apart_and_head_not_counted(client, app) -> None:  # type: ignore[no-untyped-def]
    email = await register(client)
    auth = {"Authorization": f"Bearer {await token_for(client, email)}"}
    token = await page_token(client)
    created = await client.post(
        "/dashboard/links",
        data={"url": "https://example.com/d", "alias": "defined", "csrf_token": token},
    )
    assert created.status_code == 303
    await visit(client, "defined", ua=CHROME_WINDOWS)
    await visit(client, "defined", ua=CHROME_WINDOWS)
    await visit(client, "defined", ua=CURL)
    head = await client.head("/defined", headers={"user-agent": CHROME_WINDOWS})
    assert head.status_code == 302 and head.headers["location"] == "https://example.com/d"
    await wait_written(app, 3)
    assert await click_counts(app, "defined") == (3, 3)  # the HEAD left no click

    api = await client.get("/api/links/defined", headers=auth)
    link = api.json()
    assert (link["clicks"], link["bot_clicks"]) == (2, 1)
    stats = (await client.get("/api/links/defined/stats", headers=auth)).json()
    assert (stats["total_clicks"], stats["bot_clicks"]) == (2, 1)
    with_bots = (
        await client.get("/api/links/defined/stats?include_bots=true", headers=auth)
    ).json()
    assert (with_bots["total_clicks"], with_bots["bot_clicks"]) == (3, 1)
    overview = (await client.get("/api/stats", headers=auth)).json()
    assert (overview["total_clicks"], overview["bot_clicks"]) == (2, 1)
    overview = (await client.get("/api/stats?include_bots=true", headers=auth)).json()
    assert (overview["total_clicks"], overview["bot_clicks"]) == (3, 1)

    page = (await client.get("/dashboard")).text
    assert re.search(r'<div class="value">2</div>', page)  # the overview's Clicks
    assert "+1 by bots, counted apart" in page  # ... and the bots' figure beside it
    link_page = (await client.get("/dashboard/links/defined")).text
    assert re.search(r'id="total-clicks">2</div>', link_page)
    assert "+1 by bots, counted apart" in link_page
    table = page[page.index("<tbody") :]
    row = re.search(r'href="/dashboard/links/defined".*?</tr>', table, re.S)
    assert row and '<td class="num" data-label="Clicks">2 <span' in row.group(0)
    assert "+1 bots" in row.group(0)


async def test_a_head_does_not_take_one_of_max_clicks(client) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_user

    headers = await make_user(client)
    await make_link(client, headers, alias="once-only", max_clicks=1)
    for _ in range(3):
        assert (await client.head("/once-only")).status_code == 302
    assert (await client.get("/once-only")).status_code == 302
    assert (await client.head("/once-only")).status_code == 410
    assert (await client.get("/once-only")).status_code == 410
