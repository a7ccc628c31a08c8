"""Breakdowns (referrers, countries, browsers, OS, devices) as bars, as a table, and as a map.

Each value carries its share of the window's clicks. A value too long for its bar's label (a
long referrer) is cut there only: its tooltip, its accessible name and the table keep it whole.
See charts.py for how values are read on hover and focus.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from shortener.web.charts import count, num, plural, point

LABEL_CHARS = 18  # what fits beside a breakdown bar at 12px
MAP_VIEW = (1010, 666)  # static/world.svg's view box
MAP_LEVELS = 5  # shades of the map, from few clicks to the most
EMPTY = Markup('<p class="chart-empty">No clicks in this window yet.</p>')


def share(clicks: int, total: int) -> str:
    """`clicks` as a percentage of `total`: whole numbers, and '<1%' rather than a false 0%."""
    if total <= 0 or clicks <= 0:
        return "0%"
    percent = 100 * clicks / total
    return "<1%" if percent < 1 else f"{percent:.0f}%"


def rows_of(
    items: Sequence[Mapping[str, Any]],
    *,
    unknown: str,
    names: Callable[[str], str] | None = None,
) -> list[tuple[str, int]]:
    """(value as shown, clicks): null values named `unknown`, codes named by `names`."""
    return [
        ((names or str)(str(item["value"])) if item.get("value") else unknown, int(item["clicks"]))
        for item in items
    ]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def breakdown_chart(
    items: Sequence[Mapping[str, Any]],
    *,
    title: str,
    unknown: str = "Unknown",
    limit: int = 8,
    width: int = 360,
    total: int | None = None,
    names: Callable[[str], str] | None = None,
) -> Markup:
    """A breakdown ({value, clicks}, most first) as horizontal bars; the rest summed as 'Other'.

    `total` is what the percentages are of (the window's clicks; default: the items' sum)."""
    rows = rows_of(items, unknown=unknown, names=names)
    if not rows:
        return EMPTY
    whole = total if total is not None else sum(c for _, c in rows)
    if len(rows) > limit:
        rows = [*rows[: limit - 1], ("Other", sum(c for _, c in rows[limit - 1 :]))]
    row_h, label_w, value_w = 28, 124, 92
    height = row_h * len(rows)
    bar_x, bar_max = label_w + 8, width - label_w - 8 - value_w
    peak = max(c for _, c in rows) or 1
    summary = f"{title}: " + ", ".join(
        f"{value} {count(clicks)} ({share(clicks, whole)})" for value, clicks in rows
    )
    parts = [
        f'<svg class="chart chart-breakdown" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(summary)}</title>",
    ]
    for i, (value, clicks) in enumerate(rows):
        y = i * row_h
        w = max(2.0, bar_max * clicks / peak) if clicks else 0.0
        figure = f"{count(clicks)} · {share(clicks, whole)}"
        inner = (
            f'<rect class="hit" x="0" y="{y}" width="{width}" height="{row_h}"/>'
            f'<text class="hbar-label" x="0" y="{y + 18}">'
            f"{escape(_shorten(value, LABEL_CHARS))}</text>"
            f'<rect class="hbar-track" x="{bar_x}" y="{y + 6}" width="{bar_max}" '
            'height="16" rx="3"/>'
            f'<rect class="bar" x="{bar_x}" y="{y + 6}" width="{num(w)}" height="16" rx="3"/>'
            f'<text class="hbar-value" x="{width}" y="{y + 18}" '
            f'text-anchor="end">{escape(figure)}</text>'
        )
        tip = f"{value}: {plural(clicks)} ({share(clicks, whole)})"
        parts.append(point(tip, inner, focusable=True))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def breakdown_table(
    items: Sequence[Mapping[str, Any]],
    *,
    title: str,
    unknown: str = "Unknown",
    total: int | None = None,
    names: Callable[[str], str] | None = None,
) -> Markup:
    """Every value of a breakdown, whole (a long referrer wraps, never cut), in a disclosure."""
    rows = rows_of(items, unknown=unknown, names=names)
    if not rows:
        return Markup("")
    whole = total if total is not None else sum(c for _, c in rows)
    body = "".join(
        f'<tr><td class="value-cell">{escape(value)}</td><td class="num">{count(clicks)}</td>'
        f'<td class="num">{share(clicks, whole)}</td></tr>'
        for value, clicks in rows
    )
    return Markup(  # noqa: S704 - every text above went through escape()
        f'<details class="breakdown-table"><summary>All {len(rows)} values</summary>'
        f'<table><caption class="visually-hidden">{escape(title)}</caption>'
        '<thead><tr><th scope="col">Value</th><th scope="col" class="num">Clicks</th>'
        f'<th scope="col" class="num">Share</th></tr></thead><tbody>{body}</tbody></table>'
        "</details>"
    )


def world_map(
    items: Sequence[Mapping[str, Any]],
    *,
    names: Callable[[str], str],
    total: int | None = None,
    src: str = "/static/world.svg",
) -> Markup:
    """A choropleth of the countries' clicks: static/world.svg's shapes, each country with
    clicks shaded by its share of the busiest one's (square root: a country with a tenth of the
    clicks is still seen). The shapes are referenced, not inlined: the 800 kB file is fetched
    once and cached. Values are read by pointer here; keyboard and screen readers read them in
    the Countries breakdown beside it (the map is one image to them, named with the top ten)."""
    rows = [(str(item["value"]).upper(), int(item["clicks"])) for item in items if item["value"]]
    # Shares of every click, those from an unknown country too (as in the breakdown).
    whole = total if total is not None else sum(int(item["clicks"]) for item in items)
    peak = max((c for _, c in rows), default=0)
    named = ", ".join(f"{names(code)} {share(clicks, whole)}" for code, clicks in rows[:10])
    label = f"Map of clicks by country: {named}" if rows else "Map of clicks by country: none"
    width, height = MAP_VIEW
    parts = [
        f'<svg class="world-map" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        f'<use class="land" href="{src}#world"/>',
    ]
    for code, clicks in rows:
        if not clicks or not code.isalpha():
            continue
        level = max(1, math.ceil(MAP_LEVELS * math.sqrt(clicks / peak)))
        tip = f"{names(code)}: {plural(clicks)} ({share(clicks, whole)})"
        shape = f'<use class="country level-{level}" href="{src}#{escape(code)}"/>'
        parts.append(point(tip, shape, focusable=False))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
