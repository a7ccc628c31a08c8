"""What the flusher derives from a click's user agent and referrer (never on the redirect path).

ua-parser with its bundled rules names the browser, OS and device; a bot is what ua-parser
calls a spider, or what a short list of tell-tale words catches (link unfurlers, HTTP
libraries, headless browsers), or a request with no user agent at all.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import ua_parser

from shortener.fields import one_line
from shortener.urls import host_of

# Crawlers: robots that read pages on their own (search engines, link unfurlers, monitors).
CRAWLER_PATTERN = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrape|fetch|preview|monitor|checker|headless|phantomjs|"
    r"facebookexternalhit|facebookcatalog|embedly|quora link|whatsapp|skypeuripreview|"
    r"lighthouse|pingdom",
    re.IGNORECASE,
)
# HTTP tools and libraries: a program, but often one a person runs to follow the link.
TOOL_PATTERN = re.compile(
    r"curl/|wget/|libwww|python-|httpx|aiohttp|go-http-client|okhttp|java/|apache-httpclient|"
    r"node-fetch|axios/|undici|postmanruntime|insomnia|httpie",
    re.IGNORECASE,
)
TABLET_PATTERN = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)", re.IGNORECASE)
MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"})
DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "FreeBSD",
     "OpenBSD", "NetBSD", "Solaris"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Agent:
    browser: str | None
    os: str | None
    device: str  # desktop | mobile | tablet | bot | other
    is_bot: bool  # the statistics' bot flag: a crawler, an HTTP tool, or no user agent at all
    # A crawler (not a tool someone runs): it reads a link without using it, so it takes none
    # of the link's max_clicks.
    is_crawler: bool = False


@functools.lru_cache(maxsize=4096)
def parse_agent(user_agent: str) -> Agent:
    """Browser, OS, device class and bot flag of a user agent.

    Memoised: most clicks come from a few thousand agents, and a parse costs ~50 µs even when
    ua-parser's own cache has the answer (it rebuilds its result objects)."""
    if not user_agent.strip():
        return Agent(browser=None, os=None, device="bot", is_bot=True)
    result = ua_parser.parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os = result.os.family if result.os else None
    device_family = result.device.family if result.device else None
    tool = TOOL_PATTERN.search(user_agent) is not None
    crawler = not tool and (
        device_family == "Spider" or CRAWLER_PATTERN.search(user_agent) is not None
    )
    is_bot = crawler or tool
    return Agent(
        browser=_clip(browser, 64),
        os=_clip(os, 64),
        device="bot" if is_bot else _device_class(user_agent, os, result.device),
        is_bot=is_bot,
        is_crawler=crawler,
    )


def is_crawler(user_agent: str) -> bool:
    """A crawler's request (memoised with parse_agent: the redirect path asks this only for
    links with max_clicks, and most agents are in the cache)."""
    return parse_agent(user_agent).is_crawler


def _device_class(user_agent: str, os: str | None, device: ua_parser.Device | None) -> str:
    brand = (device.brand or "") if device else ""
    if TABLET_PATTERN.search(user_agent) or "Tablet" in brand:
        return "tablet"
    if os == "Android":
        # Android phones say "Mobile"; Android tablets do not.
        return "mobile" if "Mobile" in user_agent else "tablet"
    if os in MOBILE_OS or "Mobi" in user_agent:
        return "mobile"
    if os in DESKTOP_OS:
        return "desktop"
    return "other"


def referrer_host(referrer: str) -> str | None:
    """The referrer's host name only (paths and queries can hold private data), in the form
    browsers send: lower-case punycode. A host sent in UTF-8 counts with its punycode twin."""
    if not referrer:
        return None
    host = host_of(_header_text(referrer).strip())
    try:
        return _clip(one_line(host), 255) if host else None
    except ValueError:
        return None  # control characters: no host name, and nothing to show anyone


def _header_text(value: str) -> str:
    """The header as its sender meant it. Header values arrive decoded as latin-1 (lossless,
    and what ASGI servers do); a client sending non-ASCII there sends UTF-8, which read as
    latin-1 is mojibake ("bÃ¼cher"). Bytes that are not UTF-8 stay as latin-1 read them."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _clip(value: str | None, size: int) -> str | None:
    return value[:size] if value else None
