"""Real user agents and a few helpers to make clicks through the real redirect."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from shortener.models import Link
from tests.factories import eventually

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
CURL = "curl/8.5.0"
TWITTERBOT = "Twitterbot/1.0"
FACEBOOK = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
DISCORDBOT = "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36"
)
SMART_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "76.0.3809.146/6.0 TV Safari/537.36"
)


async def visit(
    client: httpx.AsyncClient,
    key: str,
    *,
    ua: str = CHROME_WINDOWS,
    ip: str | None = None,
    referrer: str | None = None,
) -> None:
    """One redirect, as a browser behind our (trusted, 127.0.0.1) proxy would make it."""
    headers = {"User-Agent": ua}
    if ip is not None:
        headers["X-Forwarded-For"] = ip
    if referrer is not None:
        headers["Referer"] = referrer
    response = await client.get(f"/{key}", headers=headers)
    assert response.status_code in (301, 302, 307, 308), response.text


async def wait_written(app: Any, total: int) -> None:
    """Wait until the flusher has written `total` clicks over all links (never a sleep)."""

    async def written() -> bool:
        async with app.runtime.sessionmaker() as session:
            n = (
                await session.execute(
                    select(func.coalesce(func.sum(Link.clicks + Link.bot_clicks), 0))
                )
            ).scalar()
        return int(n or 0) >= total

    await eventually(written)
