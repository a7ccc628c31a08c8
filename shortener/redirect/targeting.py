"""Where one visitor goes: targeting rules, A/B variants and forwarding, as pure functions.

Everything here runs on the redirect path for the links that use it, so it works from the
cached link and the request's headers only: no database, no network, no regex engine.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes, urlencode, urlsplit, urlunsplit

# Link-unfurling crawlers that should get the Open Graph preview page instead of a redirect.
UNFURLERS = (
    "slackbot",
    "twitterbot",
    "facebookexternalhit",
    "facebot",
    "discordbot",
    "linkedinbot",
    "whatsapp",
    "telegrambot",
)


@dataclass(frozen=True, slots=True)
class Rule:
    location: str
    device: str | None = None
    country: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    location: str
    weight: int


def device_class(user_agent: str) -> str:
    """ios, android, desktop, or other (tablets count with their OS)."""
    ua = user_agent.lower()
    if "iphone" in ua or "ipad" in ua or "ipod" in ua:
        return "ios"
    if "android" in ua:
        return "android"
    if "mobile" in ua:
        return "other"
    if any(os in ua for os in ("windows nt", "macintosh", "x11", "cros", "linux")):
        return "desktop"
    return "other"


def preferred_languages(accept_language: str) -> list[str]:
    """Primary language subtags in the visitor's order of preference ("de-CH" counts as "de")."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if q > 0:
            weighted.append((-q, position, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(weighted)]


def match_rule(
    rules: Sequence[Rule],
    *,
    user_agent: str,
    accept_language: str,
    country: Callable[[], str | None],
) -> Rule | None:
    """The first rule whose every given condition holds; the country is looked up lazily."""
    device: str | None = None
    languages: list[str] | None = None
    visitor_country: str | None = None
    country_known = False
    for rule in rules:
        if rule.device is not None:
            if device is None:
                device = device_class(user_agent)
            if rule.device != device:
                continue
        if rule.country is not None:
            if not country_known:
                visitor_country, country_known = country(), True
            if rule.country != visitor_country:
                continue
        if rule.language is not None:
            if languages is None:
                languages = preferred_languages(accept_language)
            if not languages or languages[0] != rule.language:
                continue
        return rule
    return None


def pick_variant(variants: Sequence[Variant], seed: str) -> int:
    """A weighted choice that is the same for the same seed (a visitor keeps their variant)."""
    total = sum(v.weight for v in variants)
    point = int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=8).digest(), "big") % total
    for index, variant in enumerate(variants):
        point -= variant.weight
        if point < 0:
            return index
    return len(variants) - 1


def forward(location: str, *, query: bytes | str = b"", extra_path: bytes | str = b"") -> str:
    """Append the visitor's extra path and merge their query string; the target's keys win.

    Both come from the request as sent (bytes; a str is taken as UTF-8) and may hold anything:
    raw non-ASCII bytes, CR/LF, NUL, stray percent signs. The result is an ASCII URL fit for a
    Location header: what is not allowed in a path is percent-encoded, escapes the visitor
    wrote are kept, and query pairs are re-encoded from their decoded bytes.
    """
    if not query and not extra_path:
        return location
    parts = urlsplit(location)
    path = parts.path
    if extra_path:
        raw = extra_path.encode() if isinstance(extra_path, str) else extra_path
        path = path.rstrip("/") + "/" + _path_escaped(raw).lstrip("/")
    merged = parts.query
    if query:
        raw_query = query.encode() if isinstance(query, str) else query
        target = _query_pairs(parts.query.encode("ascii"))
        taken = {k for k, _ in target}
        extra = [(k, v) for k, v in _query_pairs(raw_query) if k not in taken]
        if extra:
            merged = urlencode(target + extra)
    return urlunsplit((parts.scheme, parts.netloc, path, merged, parts.fragment))


# RFC 3986 pchar and "/", and "%" when it starts an escape (see _path_escaped).
_PATH_SAFE = "/!$&'()*+,;=:@-._~%"
_STRAY_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _query_pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    """parse_qsl(keep_blank_values=True) on bytes, to bytes: whatever the visitor's bytes are
    (parse_qsl decodes them as UTF-8, and on bytes input refuses any that are not ASCII)."""
    pairs = []
    for part in query.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return pairs


def _unquote_plus(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _path_escaped(raw: bytes) -> str:
    return quote(_STRAY_PERCENT.sub(b"%25", raw), safe=_PATH_SAFE)


def is_unfurler(user_agent: str) -> bool:
    ua = user_agent.lower()
    return any(bot in ua for bot in UNFURLERS)
