"""Crawlers (link unfurlers, search engines) do not use up a link's max_clicks: they still get
the preview or the redirect, and the statistics show them apart, as bots."""

from __future__ import annotations

from tests.clicks import traffic as ua
from tests.clicks.traffic import wait_written
from tests.factories import make_link, make_user


async def test_crawlers_take_none_of_max_clicks(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="once", max_clicks=1, og_title="Launch")
    # Unfurlers see the preview, search engines the redirect, as often as they come.
    for _ in range(3):
        preview = await client.get("/once", headers={"User-Agent": ua.SLACKBOT})
        assert preview.status_code == 200
        assert "Launch" in preview.text
        crawled = await client.get("/once", headers={"User-Agent": ua.GOOGLEBOT})
        assert crawled.status_code == 302
    # The one use is still there for a person, and then gone for everyone.
    person = await client.get("/once", headers={"User-Agent": ua.FIREFOX_LINUX})
    assert person.status_code == 302
    for agent in (ua.FIREFOX_LINUX, ua.GOOGLEBOT, ua.SLACKBOT):
        assert (await client.get("/once", headers={"User-Agent": agent})).status_code == 410

    await wait_written(app, 7)
    stats = await client.get("/api/links/once/stats", headers=headers)
    assert stats.json()["total_clicks"] == 1
    with_bots = await client.get("/api/links/once/stats?include_bots=true", headers=headers)
    assert with_bots.json()["total_clicks"] == 7


async def test_tools_people_run_do_use_max_clicks(client) -> None:  # type: ignore[no-untyped-def]
    """curl, wget, HTTP libraries are bots in the statistics, but a person may be behind them:
    following a one-time link with curl uses it."""
    headers = await make_user(client)
    await make_link(client, headers, alias="tool", max_clicks=1)
    assert (await client.get("/tool", headers={"User-Agent": ua.CURL})).status_code == 302
    assert (await client.get("/tool", headers={"User-Agent": ua.CURL})).status_code == 410
