"""The statistics window picker: presets, custom dates, intervals and their limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from shortener.web.windows import parse_window

NOW = datetime(2026, 3, 10, 14, 25, tzinfo=UTC)


def test_default_is_seven_whole_days_ending_today() -> None:
    window = parse_window(None, now=NOW)
    assert (window.name, window.interval) == ("7d", "day")
    assert window.end == datetime(2026, 3, 11, tzinfo=UTC)
    assert window.start == datetime(2026, 3, 4, tzinfo=UTC)
    assert window.error is None


def test_24h_is_hourly_and_ends_with_the_current_hour() -> None:
    window = parse_window("24h", now=NOW)
    assert window.interval == "hour"
    assert window.end == datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert window.end - window.start == timedelta(hours=24)


def test_interval_switch_and_its_limit() -> None:
    assert parse_window("24h", interval="day", now=NOW).interval == "day"
    assert parse_window("7d", interval="hour", now=NOW).interval == "hour"
    # 30 days by the hour is 720 points: allowed; custom windows past 31 days fall back to days.
    assert parse_window("30d", interval="hour", now=NOW).interval == "hour"
    long = parse_window("custom", "2026-01-01", "2026-03-01", "hour", now=NOW)
    assert long.interval == "day"


def test_custom_window_covers_whole_days() -> None:
    window = parse_window("custom", "2026-02-01", "2026-02-03", "day", now=NOW)
    assert window.name == "custom"
    assert window.start == datetime(2026, 2, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 2, 4, tzinfo=UTC)
    assert (window.first_day, window.last_day) == ("2026-02-01", "2026-02-03")
    query = parse_qs(window.query())
    assert query == {
        "window": ["custom"],
        "interval": ["day"],
        "from": ["2026-02-01"],
        "to": ["2026-02-03"],
    }
    assert parse_qs(window.query(window="24h")) == {"window": ["24h"], "interval": ["day"]}


def test_bad_custom_windows_fall_back_with_a_reason() -> None:
    cases = {
        ("2026-02-05", "2026-02-01"): "ends before it starts",
        ("2026-02-05", None): "both dates",
        ("yesterday", "2026-02-01"): "both dates",
        ("2020-01-01", "2026-01-01"): "at most",
    }
    for (first, last), reason in cases.items():
        window = parse_window("custom", first, last, now=NOW)
        assert window.name == "7d"
        assert window.error is not None and reason in window.error


def test_unknown_values_are_ignored() -> None:
    window = parse_window("1y", interval="minute", now=NOW)
    assert (window.name, window.interval) == ("7d", "day")


def test_custom_windows_at_the_ends_of_the_calendar_fall_back_with_a_reason() -> None:
    """Their end (the next midnight) or their buckets would leave the calendar: a 500 before."""
    for first, last in [
        ("9999-12-31", "9999-12-31"),
        ("0001-01-01", "0001-01-01"),
        ("0001-01-01", "0001-01-05"),
    ]:
        window = parse_window("custom", first, last, now=NOW)
        assert window.name == "7d"
        assert window.error is not None and "between 0001-01-02 and 9999-12-30" in window.error
    window = parse_window("custom", "9999-12-30", "9999-12-30", now=NOW)
    assert (window.name, window.last_day) == ("custom", "9999-12-30")
