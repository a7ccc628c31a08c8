"""Rates as settings write them: "COUNT/PERIOD", e.g. 10/1m. A leaf: config validates with it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = re.compile(r"(\d+)/(\d*)([a-z]*)")
_UNITS = {
    "": 1,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    period: int  # seconds

    def __str__(self) -> str:
        return f"{self.limit} per {self.period}s"


def parse_rate(text: str) -> Rate:
    """'10/1m' -> Rate(10, 60). ValueError with the expected form otherwise."""
    match = _RATE.fullmatch(text.replace(" ", "").lower())
    unit = _UNITS.get(match[3]) if match else None
    if match is None or unit is None:
        raise ValueError(f"{text!r} is not a rate like 10/1m (COUNT/PERIOD, PERIOD in s, m, h, d)")
    limit, period = int(match[1]), int(match[2] or 1) * unit
    if limit < 1 or period < 1:
        raise ValueError(f"{text!r}: the count and the period must be at least 1")
    return Rate(limit, period)
