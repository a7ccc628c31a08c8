"""Shlink's redirect rules as our targeting rules (links' `rules`), both ways.

Our rule has at most one device (ios, android, desktop), one country and one language, all of
which must match: exactly Shlink's `device`, `geolocation-country-code` and `language`
conditions, at most one of each type per rule. Other conditions (query parameters, IP
addresses, cities, dates, browsers, other devices) have no counterpart here and are refused
with Shlink's invalid-data problem, naming what was sent.
"""

from __future__ import annotations

from typing import Any

from shortener.compat.shlink import problems
from shortener.compat.shlink.schemas import (
    ConditionOut,
    RedirectRule,
    RedirectRuleIn,
    RedirectRules,
)
from shortener.models import Link

# Shlink's condition type -> our rule's field.
CONDITIONS = {
    "device": "device",
    "geolocation-country-code": "country",
    "language": "language",
}
OURS = {ours: theirs for theirs, ours in CONDITIONS.items()}


def to_shlink(link: Link) -> RedirectRules:
    rules = [
        RedirectRule(
            longUrl=rule["url"],
            priority=number,
            conditions=[
                ConditionOut(type=OURS[name], matchKey=None, matchValue=str(rule[name]))
                for name in ("device", "language", "country")
                if rule.get(name) is not None
            ],
        )
        for number, rule in enumerate(link.rules or [], start=1)
    ]
    return RedirectRules(defaultLongUrl=link.url, redirectRules=rules)


def to_ours(rules: list[RedirectRuleIn]) -> list[dict[str, Any]]:
    """Our `rules` for Shlink's; the field rules (device names, ISO codes) are the links'."""
    found = []
    for number, rule in enumerate(rules):
        ours: dict[str, Any] = {"url": rule.longUrl}
        for condition in rule.conditions:
            name = CONDITIONS.get(condition.type)
            if name is None:
                raise problems.invalid_data(
                    [f"redirectRules.{number}.conditions"],
                    f"'{condition.type}' conditions are not supported by this server "
                    f"(supported: {', '.join(CONDITIONS)})",
                )
            if name in ours:
                raise problems.invalid_data(
                    [f"redirectRules.{number}.conditions"],
                    f"at most one '{condition.type}' condition per rule",
                )
            ours[name] = condition.matchValue
        found.append(ours)
    return found
