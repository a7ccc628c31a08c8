"""What the link code needs from the running app: where keys point, the cache, the events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from shortener.cache import LinkCache
from shortener.clicks.client_ip import TrustedProxies
from shortener.config import Settings
from shortener.domains.hosts import Hosts
from shortener.redisconn import CircuitBreaker, RedisClient


class LinkEvents(Protocol):
    """Where link.created / link.updated / link.deleted go once committed (the webhooks)."""

    async def emit(self, workspace_id: int, event: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class LinkContext:
    """Where keys point, how to invalidate, and the configured blocklist."""

    base_url: str
    own_host: str
    cache: LinkCache
    # The verified custom domains (kept current per worker): no link may point at one either.
    hosts: Hosts | None = None
    events: LinkEvents | None = None
    # BLOCKED_DOMAINS; the admins' additions are in the database.
    blocked_domains: frozenset[str] = frozenset()
    # SHORT_URL_MODE=loose: keys are stored lower-cased and compared so (links/keymode.py).
    loose_keys: bool = False

    def key(self, key: str) -> str:
        """A key as stored and compared under SHORT_URL_MODE (for keys made or asked for)."""
        return key.lower() if self.loose_keys else key

    @property
    def own_urls(self) -> tuple[str, ...]:
        """Where this service is reached, for the loop check of link targets: BASE_URL and
        every verified custom domain (on BASE_URL's scheme)."""
        if self.hosts is None or not self.hosts.by_host:
            return (self.base_url,)
        scheme = self.base_url.partition(":")[0]
        return (self.base_url, *(f"{scheme}://{host}" for host in self.hosts.by_host))

    async def fresh(self) -> LinkContext:
        """This context, its domains read again if they may have changed (a verified domain
        announces itself on the invalidation channel; see domains/hosts.py)."""
        if self.hosts is not None and self.hosts.due():
            await self.hosts.refresh()
        return self


def make_link_context(
    settings: Settings,
    engine: AsyncEngine,
    redis: RedisClient | None,
    *,
    breaker: CircuitBreaker | None = None,
    events: LinkEvents | None = None,
    hosts: Hosts | None = None,
) -> LinkContext:
    """The link context (and its cache) of a worker, or of a CLI command that changes links
    (with `redis` None: running workers learn of its new keys by their filter's poll)."""
    cache = LinkCache(
        engine,
        redis,
        prefix=settings.redis_prefix,
        size=settings.link_cache_size,
        max_bytes=settings.link_cache_max_bytes,
        key_filter=settings.link_key_filter,
        ttl=settings.link_cache_ttl,
        negative_ttl=settings.negative_cache_ttl,
        redis_ttl=settings.redis_link_ttl,
        breaker=breaker,
    )
    if hosts is None:
        hosts = make_hosts(settings, engine, TrustedProxies.parse(settings.trusted_proxies))
    return LinkContext(
        base_url=settings.base_url,
        own_host=settings.base_host,
        cache=cache,
        hosts=hosts,
        events=events,
        blocked_domains=frozenset(settings.blocked_domains),
        loose_keys=settings.short_url_mode == "loose",
    )


def make_hosts(settings: Settings, engine: AsyncEngine, trusted_proxies: TrustedProxies) -> Hosts:
    return Hosts(
        engine,
        default_host=settings.base_host,
        unknown_is_default=settings.unknown_hosts == "default",
        trusted_proxies=trusted_proxies,
    )
