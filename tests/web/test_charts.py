"""The SVG chart renderers, on sample data in the stats API's shape."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shortener.countries import country_name
from shortener.web.breakdowns import LABEL_CHARS, breakdown_chart, breakdown_table, share, world_map
from shortener.web.charts import (
    MAX_BARS,
    nice_ticks,
    series,
    sparkline,
    timeseries_chart,
)
from shortener.web.windows import parse_window

SVG = "{http://www.w3.org/2000/svg}"
DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


def parse(markup: str) -> ET.Element:
    # Well-formed XML is what a browser needs to draw inline SVG; ElementTree proves it.
    return ET.fromstring(str(markup).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


def days(*clicks: int) -> list[dict[str, object]]:
    return [
        {"t": (DAY0 + timedelta(days=i)).isoformat(), "clicks": n} for i, n in enumerate(clicks)
    ]


def test_timeseries_bars_heights_follow_the_counts_and_axis_is_labelled() -> None:
    svg = parse(timeseries_chart(days(2, 0, 8, 4), interval="day"))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == 3  # the empty day draws no bar
    heights = [float(bar.get("height", 0)) for bar in bars]
    assert heights[1] == 4 * heights[0] and heights[2] == 2 * heights[0]
    tips = ["Mar 1 UTC: 2 clicks", "Mar 3 UTC: 8 clicks", "Mar 4 UTC: 4 clicks"]
    points = svg.findall(f"{SVG}g[@class='point']")
    # Each value: a tooltip without script, the text charts.js shows, a screen reader's name.
    assert [p.findtext(f"{SVG}title") for p in points] == tips
    assert [p.get("data-tip") for p in points] == tips
    assert [p.get("aria-label") for p in points] == tips
    # One tab stop for the chart; its values by arrow key (charts.js).
    assert svg.get("tabindex") == "0" and {p.get("tabindex") for p in points} == {"-1"}
    texts = [t.text for t in svg.findall(f"{SVG}text")]
    assert "0" in texts and "8" in texts  # the y axis runs from 0 to the peak
    assert "Mar 1" in texts and "Mar 4" in texts  # the x axis names the days
    assert svg.get("role") == "group"
    assert "14 clicks in total" in (svg.get("aria-label") or "")


def test_timeseries_fills_the_window_with_empty_buckets() -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    points = [{"t": datetime(2026, 3, 1, 12, 30, tzinfo=UTC), "clicks": 3}]
    filled = series(points, "hour", start, start + timedelta(hours=6))
    assert [n for _, n in filled] == [0, 0, 3, 0, 0, 0]
    # The end is exclusive, as a stats window's is: no empty bucket after the window.
    assert filled[-1][0] == start + timedelta(hours=5)
    assert filled[2][0] == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_timeseries_hourly_labels_show_times_and_a_date_at_midnight() -> None:
    start = datetime(2026, 3, 1, 20, tzinfo=UTC)
    points = [{"t": start + timedelta(hours=h), "clicks": h} for h in range(8)]
    texts = [t.text for t in parse(timeseries_chart(points, interval="hour")).iter(f"{SVG}text")]
    assert "Mar 1 20:00" in texts
    assert "Mar 2 00:00" in texts


NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)


def axis_labels(window: str, interval: str, *days: str) -> list[str]:
    """The time axis of a chart of the window the dashboard picks for these query values."""
    chosen = parse_window(window, *days, interval=interval, now=NOW)
    assert chosen.error is None and chosen.interval == interval
    points = [{"t": chosen.start, "clicks": 1}]
    svg = parse(
        timeseries_chart(
            points, interval=chosen.interval, start=chosen.start, end=chosen.end, width=720
        )
    )
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("y") == "232"]


@pytest.mark.parametrize(
    ("window", "interval", "days", "expected"),
    [
        # Hours across midnight: every tick names its day, on the clock every 3 hours.
        (
            "24h",
            "hour",
            (),
            [
                "Mar 9 15:00",
                "Mar 9 18:00",
                "Mar 9 21:00",
                "Mar 10 00:00",
                "Mar 10 03:00",
                "Mar 10 06:00",
                "Mar 10 09:00",
                "Mar 10 12:00",
            ],
        ),
        ("24h", "day", (), ["Mar 10"]),  # today only: no empty tomorrow after it
        # A week of hours: one tick a day, at midnight, named by its day (not "14:00, 15:00").
        ("7d", "hour", (), [f"Mar {d}" for d in range(4, 11)]),
        ("7d", "day", (), [f"Mar {d}" for d in range(4, 11)]),
        ("30d", "hour", (), ["Feb 12", "Feb 16", "Feb 20", "Feb 24", "Feb 28", "Mar 4", "Mar 8"]),
        (
            "30d",
            "day",
            (),
            ["Feb 9", "Feb 13", "Feb 17", "Feb 21", "Feb 25", "Mar 1", "Mar 5", "Mar 9"],
        ),
        # Custom: one day of hours stays on that day, so only the first tick names it.
        (
            "custom",
            "hour",
            ("2026-03-02", "2026-03-02"),
            ["Mar 2 00:00", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00"],
        ),
        (
            "custom",
            "hour",
            ("2026-03-01", "2026-03-02"),
            [
                "Mar 1 00:00",
                "Mar 1 06:00",
                "Mar 1 12:00",
                "Mar 1 18:00",
                "Mar 2 00:00",
                "Mar 2 06:00",
                "Mar 2 12:00",
                "Mar 2 18:00",
            ],
        ),
        ("custom", "day", ("2026-02-27", "2026-03-02"), ["Feb 27", "Feb 28", "Mar 1", "Mar 2"]),
    ],
)
def test_time_axis_labels_name_the_day_whenever_ticks_cross_days(
    window: str, interval: str, days: tuple[str, ...], expected: list[str]
) -> None:
    assert axis_labels(window, interval, *days) == expected


def test_long_series_turns_into_a_line() -> None:
    points = [{"t": DAY0 + timedelta(hours=h), "clicks": h % 7} for h in range(MAX_BARS + 50)]
    svg = parse(timeseries_chart(points, interval="hour"))
    assert [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"] == []
    # Each hour with clicks is still a value to hover or reach by arrow key.
    points_read = svg.findall(f"{SVG}g[@class='point']")
    assert len(points_read) == sum(1 for p in points if p["clicks"])
    assert points_read[0].get("data-tip") == "Mar 1 01:00 UTC: 1 click"
    line = svg.find(f"{SVG}polyline")
    assert line is not None
    assert len((line.get("points") or "").split()) == MAX_BARS + 50


def test_empty_series_is_a_sentence_not_a_blank_chart() -> None:
    assert "No clicks" in timeseries_chart([], interval="day")


def test_nice_ticks() -> None:
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(8) == [0, 2, 4, 6, 8]
    assert nice_ticks(19) == [0, 5, 10, 15, 20]
    assert nice_ticks(1234)[-1] >= 1234


def test_breakdown_bars_scale_to_the_largest_and_overflow_goes_to_other() -> None:
    items = [{"value": f"site{i}.example", "clicks": 100 - i * 10} for i in range(10)]
    svg = parse(breakdown_chart(items, title="Referrers", limit=4))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "hbar-label"]
    assert labels == ["site0.example", "site1.example", "site2.example", "Other"]
    values = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "hbar-value"]
    # Each with its share of the whole breakdown (550 clicks): 100 is 18%.
    assert values == ["100 · 18%", "90 · 16%", "80 · 15%", "280 · 51%"]
    widths = [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert widths[3] == max(widths)  # "Other" (280) is the longest bar here
    assert [w / widths[3] for w in widths] == pytest.approx(
        [100 / 280, 90 / 280, 80 / 280, 1], rel=0.01
    )


def test_breakdown_names_null_values_and_escapes_visitor_text() -> None:
    hostile = '<script>alert("x")</script>&"'
    markup = str(
        breakdown_chart(
            [{"value": None, "clicks": 3}, {"value": hostile, "clicks": 1}],
            title="Referrers",
            unknown="Direct or unknown",
        )
    )
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    svg = parse(markup)  # still well-formed with the hostile value inside
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "hbar-label"]
    assert labels[0] == "Direct or unknown"
    assert labels[1].startswith("<script>")  # the text itself, once parsed: shown, not run


def test_long_labels_are_shortened_but_kept_whole_in_the_tooltip() -> None:
    value = "a-very-long-referrer-host.example.com"
    svg = parse(breakdown_chart([{"value": value, "clicks": 1}], title="Referrers"))
    label = next(t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "hbar-label")
    assert label is not None and len(label) == LABEL_CHARS and label.endswith("\u2026")
    assert any(value in (t.text or "") for t in svg.iter(f"{SVG}title"))


def test_empty_breakdown() -> None:
    assert "No clicks" in breakdown_chart([], title="Countries")


def test_sparkline_peaks_where_the_clicks_are() -> None:
    svg = parse(sparkline(days(0, 1, 5, 2), width=100, height=30))
    points = (svg.find(f"{SVG}polyline").get("points") or "").split()  # type: ignore[union-attr]
    ys = [float(p.split(",")[1]) for p in points]
    assert len(ys) == 4
    assert min(ys) == ys[2]  # the top of the SVG is y=0: the biggest day is highest
    assert ys[0] == max(ys)
    assert re.search(r"8 clicks over 4 days", svg.get("aria-label") or "")


def test_sparkline_of_nothing_still_draws() -> None:
    svg = parse(sparkline([]))
    assert svg.find(f"{SVG}polyline") is not None


def test_shares_are_whole_percentages_of_the_window_and_never_a_false_zero() -> None:
    assert [share(n, 1000) for n in (0, 4, 5, 10, 333, 1000)] == [
        "0%", "<1%", "<1%", "1%", "33%", "100%",
    ]  # fmt: skip
    # Of the window's clicks when given (the answer lists the top 100 values only).
    svg = parse(breakdown_chart([{"value": "DE", "clicks": 3}], title="Countries", total=12))
    assert [p.get("aria-label") for p in svg.iter(f"{SVG}g")] == ["DE: 3 clicks (25%)"]


def test_countries_are_named_and_unknown_codes_kept() -> None:
    items = [
        {"value": "DE", "clicks": 2},
        {"value": "ZZ", "clicks": 1},
        {"value": None, "clicks": 1},
    ]
    svg = parse(breakdown_chart(items, title="Countries", names=country_name))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "hbar-label"]
    assert labels == ["Germany", "ZZ", "Unknown"]
    # Every row of a breakdown is a tab stop (at most 8 of them).
    assert {p.get("tabindex") for p in svg.iter(f"{SVG}g")} == {"0"}


def test_the_table_keeps_every_value_whole_and_escaped() -> None:
    long = "a-" * 60 + "referrer.example"
    markup = str(
        breakdown_table(
            [{"value": long, "clicks": 3}, {"value": "<b>x</b>", "clicks": 1}],
            title="Referrers",
            total=4,
        )
    )
    assert f'<td class="value-cell">{long}</td>' in markup
    assert "&lt;b&gt;x&lt;/b&gt;" in markup and "<b>x" not in markup
    assert "75%" in markup and "All 2 values" in markup
    assert breakdown_table([], title="Referrers") == ""


def test_world_map_shades_each_country_by_its_share_of_the_busiest() -> None:
    items = [{"value": c, "clicks": n} for c, n in (("US", 100), ("DE", 25), ("BR", 1))]
    items.append({"value": None, "clicks": 5})
    svg = parse(world_map(items, names=country_name))
    shapes = {
        (u.get("href") or "").rsplit("#", 1)[1]: u.get("class")
        for u in svg.iter(f"{SVG}use")
        if "country" in (u.get("class") or "")
    }
    # sqrt scale: a quarter of the clicks is half the shade, one click still shows.
    assert shapes == {"US": "country level-5", "DE": "country level-3", "BR": "country level-1"}
    assert svg.get("role") == "img"
    assert "United States 76%" in (svg.get("aria-label") or "")
    tips = [g.get("data-tip") for g in svg.iter(f"{SVG}g")]
    assert tips[0] == "United States: 100 clicks (76%)"
    # The shapes exist in the file the page references.
    world = Path(__file__).resolve().parents[2] / "shortener" / "static" / "world.svg"
    text = world.read_text(encoding="utf-8")
    assert all(f'id="{code}"' in text for code in ("US", "DE", "BR")) and 'id="world"' in text


def test_narrow_chart_keeps_its_text_size_and_fewer_ticks() -> None:
    chosen = parse_window("24h", interval="hour", now=NOW)
    points = [{"t": chosen.start, "clicks": 1}]
    svg = parse(
        timeseries_chart(
            points, interval="hour", start=chosen.start, end=chosen.end, width=320,
            height=220, max_ticks=3, css="chart-narrow",
        )
    )  # fmt: skip
    assert svg.get("viewBox") == "0 0 320 220" and "chart-narrow" in (svg.get("class") or "")
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("y") == "212"]
    assert labels == ["Mar 10 00:00", "12:00"]  # on the clock, the day named once
