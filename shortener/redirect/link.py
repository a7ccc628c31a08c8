"""CachedLink: the redirect's view of a link, as the link cache keeps it (locally and in Redis).

No owner, no password hash: only what answering a redirect needs, with the work that is the
same for every visitor (ASCII locations, response headers, parsed rules) done once per entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from shortener.models import Link
from shortener.redirect.headers import redirect_headers
from shortener.redirect.targeting import Rule, Variant
from shortener.request_headers import Headers
from shortener.urls import to_ascii


@dataclass(frozen=True, slots=True)
class CachedLink:
    id: int
    key: str
    location: str
    redirect_type: int
    expires_at: float | None
    max_clicks: int | None
    has_password: bool
    is_active: bool
    rules: list[dict[str, Any]] | None = None
    variants: list[dict[str, Any]] | None = None
    forward_query: bool = False
    forward_path: bool = False
    fallback_location: str | None = None
    og: dict[str, str] | None = None
    # Derived once per cache entry, never serialised.
    response_headers: Headers = field(init=False, compare=False, repr=False)
    parsed_rules: tuple[Rule, ...] = field(init=False, compare=False, repr=False)
    parsed_variants: tuple[Variant, ...] = field(init=False, compare=False, repr=False)
    # True when every visitor gets the same answer: the precomputed headers are the response.
    plain: bool = field(init=False, compare=False, repr=False)
    # About what this entry holds in memory, in bytes (measured: ~1,000 for a plain link with
    # a short URL, its LRU slot included, and two per character of each URL it keeps).
    weight: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "response_headers", redirect_headers(self.location, self.redirect_type))
        weight = 1000 + 2 * (len(self.location) + len(self.fallback_location or ""))
        rules, variants, og = self.rules, self.variants, self.og
        if not (rules or variants or og):  # most links: nothing more to derive (a cache miss)
            setattr_(self, "parsed_rules", ())
            setattr_(self, "parsed_variants", ())
            setattr_(self, "plain", not (self.forward_query or self.forward_path))
            setattr_(self, "weight", weight)
            return
        setattr_(
            self,
            "parsed_rules",
            tuple(
                Rule(to_ascii(r["url"]), r.get("device"), r.get("country"), r.get("language"))
                for r in rules or ()
            ),
        )
        setattr_(
            self,
            "parsed_variants",
            tuple(Variant(to_ascii(v["url"]), int(v.get("weight", 1))) for v in variants or ()),
        )
        setattr_(self, "plain", False)
        weight += sum(
            400 + 3 * len(str(t.get("url", ""))) for t in [*(rules or ()), *(variants or ())]
        )
        weight += sum(100 + 2 * len(v) for v in (og or {}).values())
        setattr_(self, "weight", weight)

    def to_json(self) -> bytes:
        # The stored fields by name (dataclasses.asdict deep-copies every value: 5 % of a
        # cache miss's CPU when each miss writes its link to Redis).
        return orjson.dumps({name: getattr(self, name) for name in _STORED})

    @classmethod
    def from_json(cls, raw: bytes | str) -> CachedLink:
        return cls(**orjson.loads(raw))

    @classmethod
    def of(cls, link: Link, *, owner_active: bool = True) -> CachedLink:
        """From a Link, or a row of the links table's columns (read the same way)."""
        og = None
        if link.og_title or link.og_description or link.og_image:
            og = {
                name: value
                for name, value in (
                    ("title", link.og_title),
                    ("description", link.og_description),
                    ("image", link.og_image),
                )
                if value
            }
        return cls(
            id=link.id or 0,
            key=link.key,
            location=to_ascii(link.url),
            redirect_type=link.redirect_type,
            expires_at=link.expires_at.timestamp() if link.expires_at else None,
            max_clicks=link.max_clicks,
            has_password=link.password_hash is not None,
            is_active=link.is_active and owner_active,
            rules=link.rules or None,
            variants=link.variants or None,
            forward_query=link.forward_query,
            forward_path=link.forward_path,
            fallback_location=to_ascii(link.fallback_url) if link.fallback_url else None,
            og=og,
        )


_STORED = tuple(f.name for f in fields(CachedLink) if f.init)
