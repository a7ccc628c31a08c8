"""Statistics as server-rendered SVG: pure functions over the stats API's data shapes.

Nothing fetched: each function returns markup ready for a template. Colours come from CSS
classes (so dark mode and the strict CSP apply); every piece of text that came from a visitor
(a referrer, a browser name) is escaped here, because Markup is never escaped again.

Every value drawn is a `.point` with its value in `aria-label`, `data-tip` and a `<title>`: the
title is the tooltip without script, static/charts.js shows `data-tip` on hover and on keyboard
focus (in CSS pixels, so it stays readable however small the chart is drawn). A time chart is one
tab stop (its points are reached with the arrow keys); a breakdown's rows are a tab stop each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from shortener.stats.window import Interval

STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BARS = 120  # past this many buckets bars turn into slivers: draw a line instead
MAX_TICKS = 8  # time labels under a chart; "Mar 12 18:00" still fits 8 times in 720px
# Tick spacings a reader takes in at a glance: hours that divide a day, then whole days (which
# land on midnight), so a 7-day hourly chart is labelled once a day, not every 25 hours.
TICK_STEPS: dict[Interval, tuple[int, ...]] = {
    "hour": (1, 2, 3, 4, 6, 12, 24, 48, 72, 96, 168),
    "day": (1, 2, 3, 4, 7, 14, 28),
}


def _when(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def floor_to(moment: datetime, interval: Interval) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if interval == "day" else moment


def series(
    points: Iterable[Mapping[str, Any]],
    interval: Interval,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[tuple[datetime, int]]:
    """(bucket, clicks) in time order, with empty buckets from start until end filled with 0.

    `end` is exclusive, as a stats window's is: a window ending at midnight has no bucket for
    the day after (drawing one added an empty future day, and a tick that crossed days).
    """
    counts: dict[datetime, int] = {}
    for point in points:
        bucket = floor_to(_when(point["t"]), interval)
        counts[bucket] = counts.get(bucket, 0) + int(point["clicks"])
    if start is None or end is None:
        return sorted(counts.items())
    step, bucket = STEP[interval], floor_to(start, interval)
    filled = []
    while bucket < end:
        filled.append((bucket, counts.get(bucket, 0)))
        bucket += step
    return filled


def nice_ticks(peak: int, count: int = 4) -> list[int]:
    """Round axis values from 0 to at least `peak`: 0, 5, 10, 15, 20 rather than 0, 4.75, 9.5..."""
    if peak <= 0:
        return [0, 1]
    raw = peak / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(peak / step)
    return list(range(0, top + 1, step))


def _label(moment: datetime, interval: Interval) -> str:
    """A bucket named in full (tooltips, the summary): its day, and its hour if hourly."""
    return moment.strftime("%b %-d" if interval == "day" else "%b %-d %H:%M")


def _ticks(
    data: Sequence[tuple[datetime, int]], interval: Interval, max_ticks: int = MAX_TICKS
) -> list[tuple[int, str]]:
    """(bucket index, label) for the time axis: evenly spaced, each label unambiguous.

    Once the ticks cross days every label names its day: "Mar 1 20:00, 00:00, 04:00" would
    read as one day, and "20:00, 20:00" on a week of hours as hourly steps.
    """
    steps = TICK_STEPS[interval]
    every = next((s for s in steps if len(data) / s <= max_ticks), math.ceil(len(data) / max_ticks))
    on_clock = interval == "hour" and (24 % every == 0 or every % 24 == 0)
    picked = [
        i
        for i, (moment, _) in enumerate(data)
        # On the clock (00:00, 06:00, ... or midnights) rather than wherever the window began.
        if (int(moment.timestamp()) // 3600 if on_clock else i) % every == 0
    ] or [0]
    if interval == "day" or (on_clock and every % 24 == 0):
        return [(i, data[i][0].strftime("%b %-d")) for i in picked]
    crosses_days = data[picked[0]][0].date() != data[picked[-1]][0].date()
    return [
        (i, _label(data[i][0], interval) if n == 0 or crosses_days else f"{data[i][0]:%H:%M}")
        for n, i in enumerate(picked)
    ]


def point(label: str, inner: str, *, focusable: bool) -> str:
    """One value of a chart: named for screen readers, tooltip text for hover and focus."""
    text = escape(label)
    tab = "0" if focusable else "-1"
    return (
        f'<g class="point" tabindex="{tab}" role="img" aria-label="{text}" data-tip="{text}">'
        f"<title>{text}</title>{inner}</g>"
    )


def num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def count(value: int) -> str:
    return f"{value:,}"


def plural(n: int) -> str:
    return f"{count(n)} click" + ("" if n == 1 else "s")


def timeseries_chart(
    points: Iterable[Mapping[str, Any]],
    *,
    interval: Interval = "day",
    start: datetime | None = None,
    end: datetime | None = None,
    width: int = 720,
    height: int = 240,
    max_ticks: int = MAX_TICKS,
    css: str = "",
) -> Markup:
    """Clicks over time: bars (a line past MAX_BARS buckets) with a y axis and time labels.

    `width` is the chart's own unit: text is 12 of them, so a chart meant for a narrow column
    is drawn narrow (and with fewer `max_ticks`) rather than scaled down to unreadable text."""
    data = series(points, interval, start, end)
    if not data:
        return Markup('<p class="chart-empty">No clicks in this window yet.</p>')
    left, right, top, bottom = 44, 12, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max(c for _, c in data))
    scale = plot_h / ticks[-1]
    total = sum(c for _, c in data)
    peak_at, peak = max(data, key=lambda item: item[1])
    unit = "hour" if interval == "hour" else "day"
    summary = f"Clicks per {unit}: {plural(total)} in total"
    if peak:
        summary += f", at most {count(peak)} ({_label(peak_at, interval)} UTC)"
    parts = [
        f'<svg class="chart chart-timeseries {css}" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="{escape(summary + ". Arrow keys read each value.")}" tabindex="0" '
        'data-roving="arrows" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(summary)}</title>",
    ]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(
            f'<line class="grid-line" x1="{left}" x2="{width - right}" '
            f'y1="{num(y)}" y2="{num(y)}"/>'
            f'<text x="{left - 6}" y="{num(y + 4)}" text-anchor="end">{count(tick)}</text>'
        )
    slot = plot_w / len(data)
    bars = len(data) <= MAX_BARS
    if not bars:
        coords = [
            (left + (i + 0.5) * slot, top + plot_h - clicks * scale)
            for i, (_, clicks) in enumerate(data)
        ]
        line = " ".join(f"{num(x)},{num(y)}" for x, y in coords)
        base = top + plot_h
        area = f"{num(coords[0][0])},{base} {line} {num(coords[-1][0])},{base}"
        parts.append(
            f'<polygon class="area" points="{area}"/><polyline class="line" points="{line}"/>'
        )
    bar_w = max(1.0, slot * 0.72)
    for i, (moment, clicks) in enumerate(data):
        if clicks == 0:
            continue  # nothing to read: no stop for the arrow keys either
        h = clicks * scale
        # The whole column answers the pointer, so a one-click bar is as easy to hover.
        hit = (
            f'<rect class="hit" x="{num(left + i * slot)}" y="{top}" width="{num(slot)}" '
            f'height="{plot_h}"/>'
        )
        if bars:
            x = left + i * slot + (slot - bar_w) / 2
            mark = (
                f'<rect class="bar" x="{num(x)}" y="{num(top + plot_h - h)}" '
                f'width="{num(bar_w)}" height="{num(h)}" rx="2"/>'
            )
        else:
            mark = (
                f'<circle class="dot" cx="{num(left + (i + 0.5) * slot)}" '
                f'cy="{num(top + plot_h - h)}" r="3.5"/>'
            )
        tip = f"{_label(moment, interval)} UTC: {plural(clicks)}"
        parts.append(point(tip, hit + mark, focusable=False))
    baseline = top + plot_h
    parts.append(
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{baseline}" y2="{baseline}"/>'
    )
    for i, label in _ticks(data, interval, max_ticks):
        x = left + (i + 0.5) * slot
        text = escape(label)
        parts.append(f'<text x="{num(x)}" y="{height - 8}" text-anchor="middle">{text}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def sparkline(
    points: Iterable[Mapping[str, Any]],
    *,
    interval: Interval = "day",
    start: datetime | None = None,
    end: datetime | None = None,
    width: int = 120,
    height: int = 32,
) -> Markup:
    """A small trend line with no axes, for next to a total."""
    data = series(points, interval, start, end)
    total = sum(c for _, c in data)
    label = escape(f"Trend: {plural(total)} over {len(data)} {interval}s")
    if len(data) < 2:
        data = [*data, *data] if data else [(datetime.now(UTC), 0)] * 2
    peak = max(c for _, c in data) or 1
    step = (width - 2) / (len(data) - 1)
    coords = [(1 + i * step, height - 2 - (height - 4) * c / peak) for i, (_, c) in enumerate(data)]
    line = " ".join(f"{num(x)},{num(y)}" for x, y in coords)
    area = f"1,{height} {line} {num(coords[-1][0])},{height}"
    return Markup(  # noqa: S704 - numbers and an escaped label only
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<polygon class="area" points="{area}"/><polyline class="line" points="{line}"/></svg>'
    )
