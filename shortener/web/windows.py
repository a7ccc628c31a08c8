"""The statistics window a page shows: 24h / 7d / 30d or custom dates, by hour or by day.

A page's window is a stats.window.Window (the one model of a window, as the API uses it) with
the name the page chose it by and, when the query asked for nonsense, why it fell back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, cast

from shortener.fields import OUT_OF_RANGE, utc_moment
from shortener.stats.window import Interval, Window

WindowName = Literal["24h", "7d", "30d", "custom"]
PRESETS: dict[str, tuple[timedelta, Interval]] = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}
DEFAULT: WindowName = "7d"
MAX_DAYS = 366
MAX_HOURLY_DAYS = 31  # 744 hourly buckets is as fine as a chart can usefully get


@dataclass(frozen=True, slots=True)
class StatsWindow:
    name: WindowName
    window: Window
    error: str | None = None

    @classmethod
    def of(
        cls, name: WindowName, start: datetime, end: datetime, interval: Interval
    ) -> StatsWindow:
        return cls(name, Window(int(start.timestamp()), int(end.timestamp()), interval))

    @property
    def start(self) -> datetime:  # inclusive, UTC
        return self.window.start_at

    @property
    def end(self) -> datetime:  # exclusive, UTC
        return self.window.end_at

    @property
    def interval(self) -> Interval:
        return self.window.interval

    @property
    def first_day(self) -> str:
        return self.start.date().isoformat()

    @property
    def last_day(self) -> str:
        return (self.end - timedelta(microseconds=1)).date().isoformat()

    def query(self, **changes: str) -> str:
        """The query string of this window (with `changes`), for links that switch it."""
        from urllib.parse import urlencode

        params: dict[str, str] = {"window": self.name, "interval": self.interval}
        if self.name == "custom":
            params |= {"from": self.first_day, "to": self.last_day}
        params |= changes
        if params.get("window") != "custom":
            params.pop("from", None)
            params.pop("to", None)
        return urlencode(params)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _on_calendar(day: date) -> bool:
    """Far enough from the calendar's ends that the day's end and its buckets exist."""
    try:
        utc_moment(datetime.combine(day, time(), UTC))
    except ValueError:
        return False
    return True


def parse_window(
    window: str | None,
    start_day: str | None = None,
    end_day: str | None = None,
    interval: str | None = None,
    *,
    now: datetime | None = None,
) -> StatsWindow:
    """A window from query parameters; nonsense falls back to 7 days with a message why."""
    now = now or datetime.now(UTC)
    chosen = interval if interval in ("hour", "day") else None
    if window == "custom":
        first, last = _day(start_day), _day(end_day)
        problem = None
        if first is None or last is None:
            problem = "Choose both dates of the custom window (YYYY-MM-DD)."
        elif not (_on_calendar(first) and _on_calendar(last)):
            problem = f"The dates of a custom window {OUT_OF_RANGE}."
        elif last < first:
            problem = "The custom window ends before it starts."
        elif (last - first).days + 1 > MAX_DAYS:
            problem = f"A custom window is at most {MAX_DAYS} days."
        if problem is None and first is not None and last is not None:
            days = (last - first).days + 1
            step: Interval = cast(Interval, chosen) if chosen else ("hour" if days <= 2 else "day")
            if step == "hour" and days > MAX_HOURLY_DAYS:
                step = "day"
            start = datetime.combine(first, time(), UTC)
            return StatsWindow.of("custom", start, start + timedelta(days=days), step)
        fallback = parse_window(DEFAULT, interval=interval, now=now)
        return StatsWindow(fallback.name, fallback.window, problem)
    name = cast(WindowName, window if window in PRESETS else DEFAULT)
    span, default_interval = PRESETS[name]
    step = cast(Interval, chosen or default_interval)
    if step == "hour" and span > timedelta(days=MAX_HOURLY_DAYS):
        step = "day"
    if step == "hour":
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    else:
        end = datetime.combine(now.date(), time(), UTC) + timedelta(days=1)
    # Whole buckets: the window ends with the current hour or day, and starts `span` before.
    return StatsWindow.of(name, end - span, end, step)
