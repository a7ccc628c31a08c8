"""Enrichment: real user agents, referrers and forwarded addresses."""

from __future__ import annotations

import pytest

from shortener.clicks.client_ip import TrustedProxies, client_ip
from shortener.clicks.enrich import parse_agent, referrer_host
from shortener.config import ConfigError, load_settings
from tests.clicks import traffic as ua

AGENTS = [
    # user agent, browser, os, device, bot
    (ua.CHROME_WINDOWS, "Chrome", "Windows", "desktop", False),
    (ua.SAFARI_IPHONE, "Mobile Safari", "iOS", "mobile", False),
    (ua.FIREFOX_LINUX, "Firefox", "Linux", "desktop", False),
    (ua.ANDROID_PHONE, "Chrome Mobile", "Android", "mobile", False),
    (ua.ANDROID_TABLET, "Chrome", "Android", "tablet", False),
    (ua.IPAD, "Mobile Safari", "iOS", "tablet", False),
    (ua.SMART_TV, "Safari", "Tizen", "other", False),
    (ua.GOOGLEBOT, "Googlebot", None, "bot", True),
    (ua.SLACKBOT, "Slackbot-LinkExpanding", None, "bot", True),
    (ua.TWITTERBOT, "Twitterbot", None, "bot", True),
    (ua.FACEBOOK, "FacebookBot", None, "bot", True),
    (ua.DISCORDBOT, "Discordbot", None, "bot", True),
    (ua.CURL, "curl", None, "bot", True),
    ("Wget/1.21.4", "Wget", None, "bot", True),
    ("python-requests/2.31.0", "Python Requests", None, "bot", True),
    ("python-httpx/0.27.0", None, None, "bot", True),
    (ua.HEADLESS, "HeadlessChrome", "Linux", "bot", True),
    ("", None, None, "bot", True),
]


@pytest.mark.parametrize(("agent", "browser", "os", "device", "is_bot"), AGENTS)
def test_user_agents(agent: str, browser: str | None, os: str | None, device: str, is_bot: bool):
    parsed = parse_agent(agent)
    assert (parsed.browser, parsed.os, parsed.device, parsed.is_bot) == (
        browser,
        os,
        device,
        is_bot,
    )


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://news.ycombinator.com/item?id=1&secret=x", "news.ycombinator.com"),
        ("http://WWW.Example.ORG:8080/path", "www.example.org"),
        ("android-app://com.slack/", "com.slack"),
        ("", None),
        ("not a url", None),
        ("http://[::1", None),
    ],
)
def test_referrer_is_reduced_to_its_host(referrer: str, host: str | None) -> None:
    assert referrer_host(referrer) == host


TRUSTED = TrustedProxies.parse("127.0.0.1,::1,10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "81.2.69.142", "81.2.69.142"),  # from our proxy: believed
        ("203.0.113.9", "81.2.69.142", "203.0.113.9"),  # from anyone else: ignored
        ("127.0.0.1", "6.6.6.6, 81.2.69.142", "81.2.69.142"),  # the client's own claim: not
        ("127.0.0.1", "81.2.69.142, 10.1.2.3", "81.2.69.142"),  # through two of our proxies
        ("127.0.0.1", "10.1.2.3", "10.1.2.3"),  # only proxies: the leftmost
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "unknown", None),
        ("127.0.0.1", "81.2.69.142:4711", "81.2.69.142"),
        ("::1", "[2a00:1450:4001:82a::200e]:443", "2a00:1450:4001:82a::200e"),
        (None, "81.2.69.142", None),
    ],
)
def test_client_ip(peer: str | None, forwarded: str, expected: str | None) -> None:
    assert client_ip(peer, forwarded, TRUSTED) == expected


def test_bad_trusted_proxies_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="not-an-ip"):
        load_settings(trusted_proxies="127.0.0.1,not-an-ip")


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("https://bücher.example/x".encode(), "xn--bcher-kva.example"),  # UTF-8, as clients send
        (b"https://xn--bcher-kva.example/x", "xn--bcher-kva.example"),  # what browsers send
        ("https://BÜCHER.example/x".encode(), "xn--bcher-kva.example"),
        ("https://bücher.example/x".encode("latin-1"), "xn--bcher-kva.example"),  # not UTF-8
        (b"https://\xc3\xbf\xc3\xbe/", "xn--vdab"),
        (b"https://a\x85b/", None),  # a control character is no host name
    ],
)
def test_non_ascii_referrer_hosts_are_punycode(raw: bytes, host: str | None) -> None:
    """Headers reach us decoded as latin-1 (what ASGI servers hand over): mojibake before."""
    assert referrer_host(raw.decode("latin-1")) == host
