"""Kutt v2's request bodies and link object (its validators and utils.sanitize.link).

Bodies ignore fields they do not know, as Kutt's do. Lengths are Kutt's where ours are not
stricter; what our links cannot hold (a description past 300 characters, our title's limit) is
a 400 with Kutt's error shape.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shortener.fields import MAX_ROW_ID
from shortener.urls import MAX_URL_LENGTH

# Kutt's expire_in goes through the `ms` library: "2 minutes", "1 day", "3h", "1.5 hours"...
_UNITS = {
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86_400),
    **dict.fromkeys(("w", "week", "weeks"), 604_800),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 31_557_600),
}
_DURATION = re.compile(r"(-?(?:\d+)?\.?\d+) *([a-z]+)?", re.IGNORECASE)
MIN_EXPIRY = timedelta(minutes=1)
MAX_EXPIRY = timedelta(days=365 * 100)


def parse_expire_in(text: str) -> timedelta:
    """A duration as `ms` reads it (a bare number is milliseconds), at least a minute."""
    match = _DURATION.fullmatch(text.strip())
    unit = (match.group(2) or "ms").lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError("Expire format is invalid. Valid examples: 1m, 8h, 42 days.")
    seconds = float(match.group(1)) * _UNITS[unit]
    if seconds < MIN_EXPIRY.total_seconds():
        raise ValueError("Expire time should be more than 1 minute.")
    if seconds > MAX_EXPIRY.total_seconds():
        raise ValueError("Expire time should be less than 100 years.")
    return timedelta(seconds=seconds)


Address = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]
Description = Annotated[str, Field(max_length=300)]
Target = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
Password = Annotated[str, Field(min_length=1, max_length=64)]
ExpireIn = Annotated[str, Field(max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("expire_in", check_fields=False)
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value:
            parse_expire_in(value)
        return value or None


class KuttCreate(_Body):
    target: Target
    customurl: Address | None = None
    description: Description | None = None
    password: Password | None = None
    expire_in: ExpireIn | None = None
    reuse: bool = False
    domain: Annotated[str, Field(max_length=253)] | None = None


class KuttEdit(_Body):
    target: Target | None = None
    address: Address | None = None
    description: Description | None = None
    password: Password | None = None
    expire_in: ExpireIn | None = None


class KuttLink(BaseModel):
    id: str
    address: str
    banned: bool = False
    banned_by_id: int | None = None
    description: str | None
    domain: str | None = None  # Kutt's joined domain: null for the default one
    expire_in: datetime | None
    link: str
    password: bool
    target: str
    visit_count: int
    created_at: datetime
    updated_at: datetime


class KuttPage(BaseModel):
    limit: int
    skip: int
    total: int
    data: list[KuttLink]


# Kutt's link ids are uuids. Ours are integers: the id is written in a uuid's last 48 bits
# behind a fixed prefix ("4b7574740000" is "Kutt" and zeros), so it maps both ways without a
# column or a look-up table, and stays the same for the life of the link.
_ID_PREFIX = 0x4B757474_0000_4000_8000 << 48
_ID_MASK = (1 << 48) - 1


def kutt_id(link_id: int) -> str:
    return str(uuid.UUID(int=_ID_PREFIX | link_id))


def link_id_of(kutt: str) -> int | None:
    """The link id in a Kutt id, or None when it is not one of ours."""
    try:
        value = uuid.UUID(kutt).int
    except ValueError:
        return None
    link_id = value & _ID_MASK
    # Ids are database integers: a larger number names no link (and must not reach the query).
    return link_id if value & ~_ID_MASK == _ID_PREFIX and link_id <= MAX_ROW_ID else None
