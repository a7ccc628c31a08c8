"""The pure targeting functions (rules, variants, forwarding) on a table of cases."""

from collections import Counter

import pytest

from shortener.redirect.targeting import (
    Rule,
    Variant,
    device_class,
    forward,
    is_unfurler,
    match_rule,
    pick_variant,
    preferred_languages,
)

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
IPAD = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari"
LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.mark.parametrize(
    ("ua", "device"),
    [
        (IPHONE, "ios"),
        (IPAD, "ios"),
        (ANDROID, "android"),
        (WINDOWS, "desktop"),
        (MAC, "desktop"),
        (LINUX, "desktop"),
        ("curl/8.5.0", "other"),
        ("", "other"),
    ],
)
def test_device_class(ua: str, device: str) -> None:
    assert device_class(ua) == device


def test_preferred_languages_orders_by_quality() -> None:
    assert preferred_languages("fr;q=0.5, de-CH, en;q=0.9, *;q=0.1") == ["de", "en", "fr"]
    assert preferred_languages("") == []
    assert preferred_languages("es;q=0, it;q=bad") == []


def test_first_matching_rule_wins_and_country_is_lazy() -> None:
    looked_up: list[int] = []

    def country() -> str | None:
        looked_up.append(1)
        return "DE"

    rules = [
        Rule("https://ios.example", device="ios"),
        Rule("https://de-android.example", device="android", country="DE"),
        Rule("https://de.example", country="DE"),
        Rule("https://fr.example", language="fr"),
    ]
    ios = match_rule(rules, user_agent=IPHONE, accept_language="", country=country)
    assert ios is not None and ios.location == "https://ios.example"
    assert looked_up == []  # matched before any rule needed the country
    android = match_rule(rules, user_agent=ANDROID, accept_language="", country=country)
    assert android is not None and android.location == "https://de-android.example"
    desktop = match_rule(rules, user_agent=WINDOWS, accept_language="fr", country=country)
    assert desktop is not None and desktop.location == "https://de.example"
    assert len(looked_up) == 2  # once per visitor, not once per rule


def test_language_rule_uses_the_first_preference() -> None:
    rules = [Rule("https://fr.example", language="fr")]
    match = match_rule(
        rules, user_agent=MAC, accept_language="fr-CA,en;q=0.8", country=lambda: None
    )
    assert match is not None
    assert match_rule(rules, user_agent=MAC, accept_language="en,fr", country=lambda: None) is None


def test_variants_are_sticky_and_follow_weights() -> None:
    variants = [Variant("https://a.example", 3), Variant("https://b.example", 1)]
    assert pick_variant(variants, "visitor-1") == pick_variant(variants, "visitor-1")
    counts = Counter(pick_variant(variants, f"visitor-{i}") for i in range(4000))
    assert 2700 < counts[0] < 3300  # 75 % +- a wide margin; deterministic for these seeds
    assert counts[0] + counts[1] == 4000


@pytest.mark.parametrize(
    ("location", "query", "path", "expected"),
    [
        ("https://t.example/a?x=1", "", "", "https://t.example/a?x=1"),
        ("https://t.example/a?x=1", "x=2&y=3", "", "https://t.example/a?x=1&y=3"),
        ("https://t.example/a", "utm_source=mail", "", "https://t.example/a?utm_source=mail"),
        ("https://t.example/docs/", "", "/v2/intro", "https://t.example/docs/v2/intro"),
        ("https://t.example/docs?x=1#top", "y=2", "/p", "https://t.example/docs/p?x=1&y=2#top"),
    ],
)
def test_forward(location: str, query: str, path: str, expected: str) -> None:
    assert forward(location, query=query, extra_path=path) == expected


def test_unfurlers() -> None:
    assert is_unfurler("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
    assert is_unfurler("facebookexternalhit/1.1")
    assert is_unfurler("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)")
    assert not is_unfurler(WINDOWS)
