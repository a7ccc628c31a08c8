"""LinkCache: what a redirect needs to know about a key, from the nearest place that knows.

Order: an in-process TTL LRU, then Redis (shared by every worker), then the database. Unknown
keys are cached too, briefly, so scans of made-up keys stay off the database. A change to a
link evicts it everywhere before the API call returns: the local LRU directly, Redis by a
short-lived "changed" marker, and the other workers' LRUs through a pub/sub message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shortener.db import READ_ONLY
from shortener.models import Link, User
from shortener.redirect.link import CachedLink
from shortener.redisconn import CircuitBreaker

log = logging.getLogger(__name__)

REDIS_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


_MISSING = b"-"  # the Redis value for "no such key"
# The Redis value for "just changed: ask the database, and do not cache in Redis yet". A reader
# that read the database before a change committed may write what it read after the change
# invalidated the key; with a plain DEL that old link would then live in Redis for
# redis_link_ttl. Writers use SET NX, so they cannot overwrite this marker while it lasts.
_CHANGED = b"!"
CHANGED_TTL = 10  # seconds; far longer than a database read takes
LISTEN_POLL_SECONDS = 0.5
_LINK_COLUMNS = tuple(Link.__table__.columns)  # type: ignore[attr-defined]


class LinkCache:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis | None,
        *,
        prefix: str,
        size: int,
        ttl: float,
        negative_ttl: float,
        redis_ttl: int,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._redis = redis
        # While open, look-ups skip Redis instead of waiting on it for every request.
        self._breaker = breaker or CircuitBreaker(cooldown=0)
        self._prefix = prefix
        self._channel = f"{prefix}link-invalidate"
        self._size = size
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._redis_ttl = redis_ttl
        self._lru: OrderedDict[str, tuple[float, CachedLink | None]] = OrderedDict()
        # Bumped by every invalidation: a database read that started before it may be stale
        # and must not be put back into the LRU.
        self._epoch = 0
        self.hits = {"local": 0, "redis": 0, "database": 0}
        self._loading: dict[str, asyncio.Future[CachedLink | None]] = {}
        self.misses = 0  # keys the database did not know either (plain ints: see metrics)
        self._closing = asyncio.Event()

    def _redis_key(self, key: str) -> str:
        return f"{self._prefix}link:{key}"

    async def get(self, key: str) -> CachedLink | None:
        entry = self._lru.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            self.hits["local"] += 1
            return entry[1]
        # One look-up per key at a time: when a busy link's entry expires, every redirect in
        # flight misses at once, and 32 database reads queued behind each other were the
        # benchmark's p99 spike every LINK_CACHE_TTL seconds. The others wait for the one.
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._load(key, now))
            loading.add_done_callback(functools.partial(self._loaded, key))
        # Shielded: a redirect whose client went away must not cancel the others' look-up.
        return await asyncio.shield(loading)

    def _loaded(self, key: str, loading: asyncio.Future[CachedLink | None]) -> None:
        if self._loading.get(key) is loading:
            del self._loading[key]
        if not loading.cancelled():
            loading.exception()  # retrieved: nobody may be left waiting for it

    async def _load(self, key: str, now: float) -> CachedLink | None:
        epoch = self._epoch
        link, found = await self._from_redis(key)
        if found:
            self.hits["redis"] += 1
        else:
            self.hits["database"] += 1
            link = await self._from_database(key)
            if link is None:
                self.misses += 1
            await self._to_redis(key, link)
        if epoch == self._epoch:
            self._remember(key, link, now)
        return link

    def _remember(self, key: str, link: CachedLink | None, now: float) -> None:
        ttl = self._ttl if link is not None else min(self._ttl, self._negative_ttl)
        if self._size == 0 or ttl <= 0:
            return
        self._lru[key] = (now + ttl, link)
        self._lru.move_to_end(key)
        while len(self._lru) > self._size:
            self._lru.popitem(last=False)

    async def _from_redis(self, key: str) -> tuple[CachedLink | None, bool]:
        if self._redis is None or not self._breaker.allow():
            return None, False
        try:
            raw = await self._redis.get(self._redis_key(key))
        except REDIS_ERRORS as exc:
            log.warning("redis unavailable for link look-up, using the database: %s", exc)
            self._breaker.failure()
            return None, False
        self._breaker.success()
        if raw is None:
            return None, False
        if raw == _CHANGED:
            return None, False
        if raw == _MISSING:
            return None, True
        return CachedLink.from_json(raw), True

    async def _to_redis(self, key: str, link: CachedLink | None) -> None:
        if self._redis is None or not self._breaker.allow():
            return
        value, ttl = (
            (link.to_json(), self._redis_ttl)
            if link
            else (_MISSING, max(1, int(self._negative_ttl)))
        )
        try:
            await self._redis.set(self._redis_key(key), value, ex=ttl, nx=True)
        except REDIS_ERRORS:
            self._breaker.failure()
            return
        self._breaker.success()

    async def _from_database(self, key: str) -> CachedLink | None:
        async with self._sessionmaker() as session:
            await session.connection(execution_options=READ_ONLY)
            # Columns, not the ORM entity: building a Link instance cost more than the query.
            row = (
                await session.execute(
                    select(*_LINK_COLUMNS, col(User.is_active).label("owner_active"))
                    .join(User, col(User.id) == col(Link.owner_id))
                    .where(col(Link.key) == key)
                )
            ).first()
        if row is None:
            return None
        # The row has every column of Link under its name: it reads like one.
        return CachedLink.of(cast(Link, row), owner_active=row.owner_active)

    def evict_local(self, key: str) -> None:
        self._epoch += 1
        self._lru.pop(key, None)
        # A look-up under way may have read the old link: later requests start their own.
        self._loading.pop(key, None)

    async def invalidate(self, key: str) -> None:
        """Forget `key` in this worker, in Redis, and (by pub/sub) in every other worker."""
        self.evict_local(key)
        if self._redis is None:
            return
        try:
            await self._redis.set(self._redis_key(key), _CHANGED, ex=CHANGED_TTL)
            await self._redis.publish(self._channel, key)
        except REDIS_ERRORS as exc:
            # Tried even while the breaker is open: a missed invalidation means stale
            # redirects. The other workers' entries expire within link_cache_ttl; say so loudly.
            self._breaker.failure()
            log.error("could not invalidate %r in redis (%s); stale for up to the TTL", key, exc)

    async def listen(self) -> None:
        """Evict what other workers announce; runs until close().

        Stopped by a flag, not by cancelling: redis-py can swallow a cancellation that lands
        while a pub/sub connection is being set up, and the task then never ends (seen in
        about one test in ten as a hung shutdown).
        """
        if self._redis is None:
            return
        while not self._closing.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self._channel)
                    self._breaker.success()
                    # Whatever changed while we were not listening is unknown: start clean.
                    self._forget_all()
                    while not self._closing.is_set():
                        message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                        data: Any = message.get("data") if message else None
                        if isinstance(data, bytes):
                            self.evict_local(data.decode())
                finally:
                    with contextlib.suppress(*REDIS_ERRORS):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            except REDIS_ERRORS as exc:
                log.warning("link invalidation channel lost (%s); retrying", exc)
                self._breaker.failure()
                self._forget_all()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=1.0)

    def _forget_all(self) -> None:
        self._lru.clear()
        self._loading.clear()
        self._epoch += 1

    def close(self) -> None:
        """Ask listen() to return (within LISTEN_POLL_SECONDS)."""
        self._closing.set()
