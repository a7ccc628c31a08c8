"""Link-creation limits, in one place, for every path that creates links.

Counted in links, not requests: a bulk call of 1000 links draws 1000. The API, bulk and the
dashboard draw on RATE_LIMIT_LINKS_USER (and RATE_LIMIT_LINKS_IP); imports on a budget of their
own, RATE_LIMIT_IMPORT_USER, large enough to move in, too small to flood. The CLI is run by the
operator and has no quota (it passes None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shortener.errors import TooManyRequests
from shortener.ratelimit import RateLimiter, Taken

Budget = Literal["links", "import"]
_RULES: dict[Budget, tuple[tuple[str, str], ...]] = {
    "links": (("links_user", "user"), ("links_ip", "ip")),
    "import": (("import_user", "user"),),
}
_SETTING = {
    "links_user": "RATE_LIMIT_LINKS_USER",
    "links_ip": "RATE_LIMIT_LINKS_IP",
    "import_user": "RATE_LIMIT_IMPORT_USER",
}


@dataclass(slots=True)
class Grant:
    """How many links a request may create now; `unused` gives back what it did not create."""

    granted: int
    refused: TooManyRequests | None  # why not more, when fewer were granted than asked
    _limiter: RateLimiter | None = None
    _taken: list[Taken] = field(default_factory=list)

    async def unused(self, count: int) -> None:
        if self._limiter is None:
            return
        for taken in self._taken:
            await self._limiter.give_back(taken, count)
        self.granted -= min(count, self.granted)


@dataclass(frozen=True, slots=True)
class LinkQuota:
    """The creation limits of one caller: a user, from an address."""

    limiter: RateLimiter
    user_id: int
    ip: str

    async def take(self, count: int, *, budget: Budget = "links") -> Grant:
        """Up to `count` links from `budget`: every rule of the budget must allow each one."""
        takes: list[Taken] = []
        for rule, who in _RULES[budget]:
            ident = str(self.user_id) if who == "user" else self.ip
            takes.append(await self.limiter.take(rule, ident, count))
        granted = min(t.granted for t in takes)
        for taken in takes:  # a rule that allowed more than another gets the rest back
            await self.limiter.give_back(taken, taken.granted - granted)
        refused = None
        if granted < count:
            short = min(takes, key=lambda t: t.granted)
            refused = TooManyRequests(
                short.retry_after,
                f"too many links created ({short.rate}, {_SETTING[short.rule]}): "
                f"{granted} of {count} allowed now; try again in {short.retry_after} seconds",
            )
        grant = Grant(granted, refused, self.limiter, [_with(t, granted) for t in takes])
        return grant

    async def take_one(self) -> Grant:
        """One link, or TooManyRequests (a single create either fits or is refused)."""
        grant = await self.take(1)
        if grant.refused is not None:
            raise grant.refused
        return grant


def _with(taken: Taken, granted: int) -> Taken:
    return Taken(taken.rule, taken.key, granted, taken.rate, taken.retry_after)


def unlimited(count: int) -> Grant:
    """What the CLI gets: everything it asks for."""
    return Grant(count, None)
