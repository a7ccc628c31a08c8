"""The time window of a statistics request: parsed, checked and aligned to whole buckets.

Aligning matters twice: rollups are hourly, so an hour is the finest cut there is; and an
aligned window is the same for every request within a bucket, so the default window ("the
last 30 days", ending now) still hits the stats cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from shortener.errors import Invalid
from shortener.fields import earlier, utc_moment

Interval = Literal["hour", "day"]
STEP = {"hour": 3600, "day": 86_400}
# Hourly answers stop at 31 days (744 points); daily ones at about ten years.
MAX_BUCKETS = {"hour": 31 * 24, "day": 3660}
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Window:
    start: int  # unix seconds, on a bucket boundary
    end: int  # exclusive, on a bucket boundary
    interval: Interval

    @property
    def step(self) -> int:
        return STEP[self.interval]

    @property
    def start_hour(self) -> int:
        return self.start // 3600

    @property
    def end_hour(self) -> int:
        return self.end // 3600

    def buckets(self) -> range:
        """Bucket numbers (unix seconds // step) from first to last."""
        return range(self.start // self.step, self.end // self.step)

    def bucket_time(self, bucket: int) -> datetime:
        return datetime.fromtimestamp(bucket * self.step, UTC)

    @property
    def start_at(self) -> datetime:
        return datetime.fromtimestamp(self.start, UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)


def _problem(param: str, msg: str) -> Invalid:
    return Invalid([{"loc": ["query", param], "msg": msg, "type": "value_error"}])


def parse_moment(text: str, *, param: str, end: bool) -> datetime:
    """An ISO date or datetime; a date as `to` means the end of that day. Naive means UTC."""
    text = text.strip()
    whole_day = True
    try:
        moment = datetime.combine(date.fromisoformat(text), time())
    except ValueError:
        whole_day = False
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _problem(
                param,
                f"{param} must be an ISO 8601 date or datetime, e.g. 2026-01-31 or "
                "2026-01-31T12:00:00Z (write a + in an offset as %2B)",
            ) from None
    try:
        moment = utc_moment(moment)
    except ValueError as exc:
        raise _problem(param, f"{param} {exc}") from None
    # utc_moment leaves a day to spare before the calendar ends: the day's end exists.
    return moment + timedelta(days=1) if end and whole_day else moment


def resolve_window(
    start_text: str | None, end_text: str | None, interval: Interval, *, now: datetime
) -> Window:
    end = parse_moment(end_text, param="to", end=True) if end_text else now
    start = (
        parse_moment(start_text, param="from", end=False)
        if start_text
        else earlier(end, timedelta(days=DEFAULT_DAYS))
    )
    if start > end:
        raise _problem("from", "from must not be after to")
    step = STEP[interval]
    first = int(start.timestamp()) // step * step
    last = -(-int(end.timestamp()) // step) * step  # ceiling
    last = max(last, first + step)
    if (last - first) // step > MAX_BUCKETS[interval]:
        limit = "31 days" if interval == "hour" else f"{MAX_BUCKETS['day']} days"
        hint = "; use interval=day for longer windows" if interval == "hour" else ""
        raise _problem("from", f"a window with interval={interval} spans at most {limit}{hint}")
    return Window(first, last, interval)
