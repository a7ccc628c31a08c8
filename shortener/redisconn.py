"""The Redis client, tuned so a dead or hung Redis costs a request milliseconds, not seconds.

redis-py's defaults (5 s timeouts, ten retries with backoff) would make every redirect wait
tens of seconds on a hung Redis. We connect with small timeouts and one quick retry, and a
circuit breaker shared by the app's Redis users: after a failure, callers skip Redis for a few
seconds and use their fallback (the database, the local click buffer, in-process counters);
then one caller probes, and its success closes the breaker for everyone.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from shortener.config import Settings

# What a failing Redis raises: every Redis user catches these and falls back.
REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def make_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_connect_timeout,
        socket_timeout=settings.redis_socket_timeout,
        # One retry for a dropped connection (a pooled socket Redis closed on restart); none
        # for a timeout: a Redis that did not answer in time will not answer the retry either.
        retry=Retry(
            ExponentialBackoff(cap=0.05, base=0.01),
            retries=1,
            supported_errors=(RedisConnectionError,),
        ),
    )


class CircuitBreaker:
    """Closed: use Redis. Open (after a failure): skip it until `cooldown` has passed.

    Once the cooldown is over, the next caller is let through as the probe and the breaker
    stays open for the others until the probe reports; a probe that never reports (cancelled)
    is simply replaced by another after the next cooldown.
    """

    def __init__(self, cooldown: float) -> None:
        self._cooldown = cooldown
        self._open_until = 0.0
        self._open = False
        self.trips = 0
        self.failures = 0  # every failed Redis call reported here (read by the metrics)

    @property
    def is_open(self) -> bool:
        return self._open

    def allow(self) -> bool:
        if not self._open:
            return True
        now = time.monotonic()
        if now < self._open_until:
            return False
        self._open_until = now + self._cooldown  # this caller probes; the others keep skipping
        return True

    def failure(self) -> None:
        self.failures += 1
        if not self._open:
            self.trips += 1
        self._open = True
        self._open_until = time.monotonic() + self._cooldown

    def success(self) -> None:
        self._open = False
        self._open_until = 0.0
