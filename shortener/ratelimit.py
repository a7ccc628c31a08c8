"""Rate limits: fixed-window counters against brute force, spam and scraping.

Counters live in Redis when it is configured, so every worker shares them (INCR + EXPIRE in one
pipeline), and in this process otherwise, or while Redis is unreachable (each worker then
counts on its own: looser, never fail-open). A fixed window may let up to twice the limit
through around a window's edge; for these limits that is fine and it costs one round trip.

Identities (IP addresses, emails) are hashed into the counter keys: Redis never holds them.
The sign-in and registration limits are in shortener/auth/limits.py.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from starlette.requests import Request

from shortener.errors import TooManyRequests
from shortener.rates import Rate, parse_rate
from shortener.redisconn import REDIS_ERRORS, CircuitBreaker, RedisClient
from shortener.rediskeys import RedisKeys

log = logging.getLogger(__name__)

LOCAL_MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Taken:
    """What `RateLimiter.take` granted: `granted` of what was asked, from the window of `key`."""

    rule: str
    key: str
    granted: int
    rate: Rate
    retry_after: int  # seconds until the window that refused turns


class RateLimiter:
    def __init__(
        self,
        redis: RedisClient | None,
        breaker: CircuitBreaker | None,
        *,
        prefix: str,
        enabled: bool,
        rules: dict[str, Rate],
    ) -> None:
        self._redis = redis
        self._breaker = breaker
        self._keys = RedisKeys(prefix)
        self.enabled = enabled
        self.rules = rules
        self._local: dict[str, tuple[float, int]] = {}  # key -> (expires at, count)

    def _key(self, rule: str, ident: str, window: int) -> str:
        digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
        return self._keys.rate(rule, digest, window)

    async def hit(self, rule: str, ident: str) -> None:
        """Count one attempt at `rule` by `ident`; TooManyRequests once over the limit."""
        if not self.enabled:
            return
        rate = self.rules[rule]
        count = await self._add(self._key(rule, ident, self._window(rate)), 1, rate.period)
        if count > rate.limit:
            raise self._refusal(rate)

    async def check(self, rule: str, ident: str) -> None:
        """TooManyRequests if `ident` has already used up `rule`'s window; counts nothing."""
        if await self.used_up(rule, ident):
            raise self._refusal(self.rules[rule])

    async def used_up(self, rule: str, ident: str) -> bool:
        """Whether `ident` has counted `rule`'s limit in this window already."""
        if not self.enabled:
            return False
        rate = self.rules[rule]
        return await self._get(self._key(rule, ident, self._window(rate))) >= rate.limit

    async def count(self, rule: str, ident: str) -> None:
        """Count one event (a failure, say) against `rule` without refusing anything now."""
        if not self.enabled:
            return
        rate = self.rules[rule]
        await self._add(self._key(rule, ident, self._window(rate)), 1, rate.period)

    async def refund(self, rule: str, ident: str) -> None:
        """Take back one attempt (a right link password does not count against anyone)."""
        if not self.enabled:
            return
        rate = self.rules[rule]
        await self._add(self._key(rule, ident, self._window(rate)), -1, rate.period)

    @staticmethod
    def _window(rate: Rate) -> int:
        return int(time.time() // rate.period)

    @staticmethod
    def _refusal(rate: Rate) -> TooManyRequests:
        now = time.time()
        retry_after = max(1, math.ceil((int(now // rate.period) + 1) * rate.period - now))
        return TooManyRequests(
            retry_after, f"too many attempts ({rate}); try again in {retry_after} seconds"
        )

    async def _get(self, key: str) -> int:
        if self._redis is not None and (self._breaker is None or self._breaker.allow()):
            try:
                value = await self._redis.get(key)
                if self._breaker is not None:
                    self._breaker.success()
                return int(value or 0)
            except REDIS_ERRORS as exc:
                log.warning("redis unavailable for rate limits, counting in-process: %s", exc)
                if self._breaker is not None:
                    self._breaker.failure()
        expires, count = self._local.get(key, (0.0, 0))
        return count if expires > time.monotonic() else 0

    async def take(self, rule: str, ident: str, amount: int) -> Taken:
        """Take up to `amount` from `ident`'s budget for `rule`: as much as is left, no more.

        For limits that count things (links) rather than requests: a request for 1000 links
        gets what is left of the window and can give back what it did not use.
        """
        rate = self.rules[rule]
        now = time.time()
        window = int(now // rate.period)
        retry_after = max(1, math.ceil((window + 1) * rate.period - now))
        if not self.enabled or amount <= 0:
            return Taken(rule, "", amount, rate, retry_after)
        key = self._key(rule, ident, window)
        count = await self._add(key, amount, rate.period)
        granted = max(0, min(amount, amount - (count - rate.limit)))
        if granted < amount:
            await self._add(key, granted - amount, rate.period)
        return Taken(rule, key, granted, rate, retry_after)

    async def give_back(self, taken: Taken, amount: int) -> None:
        """Return `amount` of what `taken` got and did not use (to the window it came from)."""
        amount = min(amount, taken.granted)
        if taken.key and amount > 0:
            await self._add(taken.key, -amount, taken.rate.period)

    async def _add(self, key: str, amount: int, period: int) -> int:
        if self._redis is not None and (self._breaker is None or self._breaker.allow()):
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incrby(key, amount)
                    pipe.expire(key, period + 1)
                    count, _ = await pipe.execute()
                if self._breaker is not None:
                    self._breaker.success()
                return int(count)
            except REDIS_ERRORS as exc:
                log.warning("redis unavailable for rate limits, counting in-process: %s", exc)
                if self._breaker is not None:
                    self._breaker.failure()
        return self._add_local(key, amount, period)

    def _add_local(self, key: str, amount: int, period: int) -> int:
        now = time.monotonic()
        expires, count = self._local.get(key, (now + period + 1, 0))
        if expires <= now:
            expires, count = now + period + 1, 0
        count += amount
        self._local[key] = (expires, count)
        if len(self._local) > LOCAL_MAX_KEYS:
            self._local = {k: v for k, v in self._local.items() if v[0] > now}
        return count


def rules_from(settings: object) -> dict[str, Rate]:
    """Every rule the app enforces, from the rate_limit_* settings."""
    return {
        name: parse_rate(str(getattr(settings, f"rate_limit_{name}")))
        for name in (
            "login_ip",
            "login_pair",
            "login_account",
            "login_otp",
            "register_ip",
            "links_user",
            "links_ip",
            "import_user",
            "link_password",
            "reset_email",
            "reset_ip",
            "verify_user",
        )
    }


def peer_address(request: Request) -> str:
    """The address rate limits count by: the TCP peer, which uvicorn has already replaced by
    X-Forwarded-For when the peer is a trusted proxy (`shortener serve` gives it TRUSTED_PROXIES).
    The click path, which reads the raw headers itself, has clicks.client_ip.client_ip."""
    return request.client.host if request.client else "unknown"
