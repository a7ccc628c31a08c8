"""What a click is while it travels from the redirect to the database.

A ClickRecord never holds the raw IP: what is derived from the IP (the country, the
visitor hash) is derived in the process that answered the redirect, before the click reaches
Redis or any other shared place.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

import orjson


def new_click_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class ClickRecord:
    link_id: int
    ts: float  # unix seconds, when the redirect was answered
    user_agent: str = ""
    referrer: str = ""
    country: str | None = None
    visitor_hash: str | None = None
    id: str = field(default_factory=new_click_id)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> ClickRecord:
        return cls(**orjson.loads(raw))
