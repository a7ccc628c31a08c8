"""The circuit breaker's states and the rate syntax (pure functions, no services)."""

from __future__ import annotations

import time

import pytest

from shortener.config import ConfigError, load_settings
from shortener.rates import Rate, parse_rate
from shortener.redisconn import CircuitBreaker


def test_a_failure_opens_the_breaker_for_everyone_until_one_probe_succeeds() -> None:
    breaker = CircuitBreaker(cooldown=0.05)
    assert breaker.allow() and not breaker.is_open
    breaker.failure()
    assert breaker.is_open and breaker.trips == 1
    assert not breaker.allow()  # skip Redis meanwhile
    deadline = time.monotonic() + 5
    while not breaker.allow():  # the cooldown passes: one caller is let through...
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert not breaker.allow()  # ...and only one, until it reports
    breaker.success()
    assert breaker.allow() and breaker.allow() and not breaker.is_open


def test_a_failed_probe_opens_it_again() -> None:
    breaker = CircuitBreaker(cooldown=0.02)
    breaker.failure()
    deadline = time.monotonic() + 5
    while not breaker.allow():
        assert time.monotonic() < deadline
        time.sleep(0.005)
    breaker.failure()
    assert not breaker.allow()
    assert breaker.trips == 1  # one outage, however many failed probes


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/1m", Rate(10, 60)),
        ("10/minute", Rate(10, 60)),
        ("5/15m", Rate(5, 900)),
        ("3/30s", Rate(3, 30)),
        ("100 / 1 h", Rate(100, 3600)),
        ("1/d", Rate(1, 86400)),
        ("7/10", Rate(7, 10)),
    ],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "10", "ten/1m", "10/1w", "0/1m", "10/0s", "-1/1m"])
def test_bad_rates_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"10/1m|at least 1"):
        parse_rate(text)
    with pytest.raises(ConfigError, match="RATE_LIMIT_LOGIN_IP"):
        load_settings(rate_limit_login_ip=text)
