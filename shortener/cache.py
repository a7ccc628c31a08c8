"""LinkCache: what a redirect needs to know about a key, from the nearest place that knows.

Order: an in-process TTL LRU (bounded by entries and by bytes), then the filter of known keys
(a key it has never seen is unknown: 404 with no look-up at all), then Redis (shared by every
worker), then the database. Keys that miss together are looked up together: one MGET, one
`WHERE key IN (...)`, one pipeline of writes back, for all the redirects waiting at that
moment (see shortener/redirect/lookup.py). Without Redis, on a SQLite file, a key is read at
once instead: that point read costs less than the task and futures a batch takes.

A change to a link (its creation included) reaches every place that could answer for it
before the API call returns: this worker's LRU and filter directly, Redis by a short-lived
"changed" marker, and every other worker through a pub/sub message that each one
acknowledges once its LRU and filter know (see `invalidate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shortener.redirect.known_keys import KeyFilter
from shortener.redirect.link import CachedLink
from shortener.redirect.lookup import LinkReader
from shortener.redisconn import (
    REDIS_ERRORS,
    CircuitBreaker,
    RedisClient,
    get_many,
    open_pubsub,
    publish,
)
from shortener.rediskeys import RedisKeys

log = logging.getLogger(__name__)


_MISSING = b"-"  # the Redis value for "no such key"
# The Redis value for "just changed: ask the database, and do not cache in Redis yet". A reader
# that read the database before a change committed may write what it read after the change
# invalidated the key; with a plain DEL that old link would then live in Redis for
# redis_link_ttl. Writers use SET NX, so they cannot overwrite this marker while it lasts.
_CHANGED = b"!"
CHANGED_TTL = 10  # seconds; far longer than a database read takes
LISTEN_POLL_SECONDS = 0.5
# How long a change waits for the other workers to acknowledge it. A worker that has not
# within this is stuck or dying; the change is logged and the call returns.
ACK_TIMEOUT = 2.0

Loading = asyncio.Future[CachedLink | None]


class LinkCache:
    def __init__(
        self,
        engine: AsyncEngine,
        redis: RedisClient | None,
        *,
        prefix: str,
        size: int,
        ttl: float,
        negative_ttl: float,
        redis_ttl: int,
        max_bytes: int = 64 * 2**20,
        key_filter: bool = True,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._engine = engine
        self._reader = LinkReader(engine)
        self._redis = redis
        # While open, look-ups skip Redis instead of waiting on it for every request.
        self._breaker = breaker or CircuitBreaker(cooldown=0)
        self._keys = RedisKeys(prefix)
        self._channel = self._keys.link_changes
        self._ack_channel = self._keys.link_acks
        self._acks: dict[str, _Acks] = {}
        self._size = size
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._redis_ttl = redis_ttl
        # key -> (expires, link, bytes); bytes is CachedLink.weight, counted into self.bytes.
        self._lru: OrderedDict[str, tuple[float, CachedLink | None, int]] = OrderedDict()
        self.bytes = 0
        # Bumped by every invalidation: a database read that started before it may be stale
        # and must not be put back into the LRU.
        self._epoch = 0
        self.hits = {"local": 0, "filter": 0, "redis": 0, "database": 0}
        self.misses = 0  # keys the database did not know either (plain ints: see metrics)
        # Told every key that changed here or elsewhere (open live feeds re-check permission).
        self.on_evict: list[Callable[[str], None]] = []
        self.reads = 0  # batched look-ups (each one MGET and/or one query for many keys)
        # Look-ups waiting for the next batch, and the one in flight per key (shared).
        self._loading: dict[str, Loading] = {}
        self._queued: list[tuple[str, Loading]] = []
        self._batches: asyncio.Task[None] | None = None
        # The filter is used only while it is current: built, and no message missed since.
        # Off where no channel tells this worker of other workers' creations (LINK_CACHE_TTL=0).
        self.keys = KeyFilter(engine, enabled=key_filter and ttl > 0)
        self._subscribed: Any = None  # the pub/sub start() opened, for listen() to carry on
        # Set while listen() holds a subscription: only then does this worker hear the other
        # workers' acknowledgements of its own changes.
        self._hearing = asyncio.Event()
        self._closing = asyncio.Event()

    def _redis_key(self, key: str) -> str:
        return self._keys.link(key)

    def surely_unknown(self, key: str) -> bool:
        """What get() answers at once for a key the filter of known keys has never seen and
        this worker holds no entry for (None), without a coroutine: the redirect's longer
        candidates of a multi-segment path are mostly such keys."""
        known = self.keys.current
        if known is None or key in self._lru or key in known:
            return False
        self.hits["filter"] += 1
        return True

    async def get(self, key: str) -> CachedLink | None:
        entry = self._lru.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self.hits["local"] += 1
            self._lru.move_to_end(key)  # least recently used goes first, not first read
            return entry[1]
        known = self.keys.current
        if known is not None and key not in known:
            self.hits["filter"] += 1  # the filter knew: no such key
            return None
        loading = self._loading.get(key)
        if loading is None and self._redis is None:
            # On SQLite the point read is done here and now: a batch would cost a task and
            # two futures a miss, more than the read (bench/scale_bench.py, uniform keys).
            links = self._reader.read_now([key])
            if links is not None:
                link = links.get(key)
                self._count_read([key], links)
                self._remember(key, link, time.monotonic())
                return link
        # One look-up per key at a time: when a busy link's entry expires, every redirect in
        # flight misses at once, and 32 database reads queued behind each other were the
        # benchmark's p99 spike every LINK_CACHE_TTL seconds. The others wait for the one.
        if loading is None:
            loading = self._loading[key] = asyncio.get_running_loop().create_future()
            loading.add_done_callback(_retrieve)
            self._queued.append((key, loading))
            if self._batches is None:
                # Starts on the loop's next turn: every miss of this turn joins the batch.
                self._batches = asyncio.ensure_future(self._run_batches())
        # Shielded: a redirect whose client went away must not cancel the others' look-up.
        return await asyncio.shield(loading)

    async def _run_batches(self) -> None:
        """Look up what is queued, in batches, until nothing is: the misses that arrive while
        a batch is being read form the next one."""
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                epoch = self._epoch
                try:
                    found = await self._load([key for key, _ in batch])
                except Exception as exc:
                    for key, loading in batch:
                        self._settle(key, loading, exc)
                    continue
                now = time.monotonic()
                for key, loading in batch:
                    link = found[key]
                    # An invalidation meanwhile: what was read may be older than the change.
                    if epoch == self._epoch:
                        self._remember(key, link, now)
                    self._settle(key, loading, link)
        finally:
            self._batches = None

    def _settle(self, key: str, loading: Loading, outcome: CachedLink | Exception | None) -> None:
        if self._loading.get(key) is loading:
            del self._loading[key]
        if loading.done():
            return
        if isinstance(outcome, Exception):
            loading.set_exception(outcome)
        else:
            loading.set_result(outcome)

    async def _load(self, keys: Sequence[str]) -> dict[str, CachedLink | None]:
        found = await self._from_redis(keys)
        rest = [key for key in keys if key not in found]
        self.hits["redis"] += len(found)
        if rest:
            links = await self._reader.read(rest)
            read = {key: links.get(key) for key in rest}
            await self._to_redis(read)
            found.update(read)
            self._count_read(rest, links)
        else:
            self.reads += 1
        return found

    def _count_read(self, keys: Sequence[str], found: dict[str, CachedLink]) -> None:
        self.reads += 1
        self.hits["database"] += len(keys)
        self.misses += len(keys) - len(found)

    def _remember(self, key: str, link: CachedLink | None, now: float) -> None:
        ttl = self._ttl if link is not None else min(self._ttl, self._negative_ttl)
        if self._size == 0 or ttl <= 0:
            return
        weight = link.weight if link is not None else 100
        old = self._lru.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self._lru[key] = (now + ttl, link, weight)
        self.bytes += weight
        while len(self._lru) > self._size or self.bytes > self._max_bytes:
            _, (_, _, dropped) = self._lru.popitem(last=False)
            self.bytes -= dropped

    async def _from_redis(self, keys: Sequence[str]) -> dict[str, CachedLink | None]:
        if self._redis is None or not self._breaker.allow():
            return {}
        try:
            raws = await get_many(self._redis, [self._redis_key(key) for key in keys])
        except REDIS_ERRORS as exc:
            log.warning("redis unavailable for link look-up, using the database: %s", exc)
            self._breaker.failure()
            return {}
        self._breaker.success()
        found: dict[str, CachedLink | None] = {}
        for key, raw in zip(keys, raws, strict=True):
            if raw is None or raw == _CHANGED:
                continue
            found[key] = None if raw == _MISSING else CachedLink.from_json(raw)
        return found

    async def _to_redis(self, links: dict[str, CachedLink | None]) -> None:
        if self._redis is None or not self._breaker.allow():
            return
        negative_ttl = max(1, int(self._negative_ttl))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, link in links.items():
                    value, ttl = (
                        (link.to_json(), self._redis_ttl) if link else (_MISSING, negative_ttl)
                    )
                    pipe.set(self._redis_key(key), value, ex=ttl, nx=True)
                await pipe.execute()
        except REDIS_ERRORS:
            self._breaker.failure()
            return
        self._breaker.success()

    async def _from_database(self, key: str) -> CachedLink | None:
        """One key's link as the database has it now (the cache's tiers bypassed)."""
        return (await self._reader.read([key])).get(key)

    def evict_local(self, key: str) -> None:
        """Forget what this worker holds for `key`, and know that it may exist now."""
        self._epoch += 1
        old = self._lru.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        # A look-up under way may have read the old link: later requests start their own.
        self._loading.pop(key, None)
        for listener in self.on_evict:
            listener(key)
        self.keys.add(key)

    async def invalidate(self, key: str) -> None:
        await self.invalidate_many([key])

    async def invalidate_many(self, keys: Sequence[str]) -> None:
        """Forget `keys` in this worker, in Redis, and in every other worker; call it after
        every commit that creates, changes or deletes links. Returns once every worker
        listening has acknowledged (or after ACK_TIMEOUT)."""
        for key in keys:
            self.evict_local(key)
        # A bulk import hands over 100,000 keys: messages of a bounded size.
        for start in range(0, len(keys), 1000):
            await self._announce(keys[start : start + 1000])

    async def _announce(self, keys: Sequence[str]) -> None:
        if self._redis is None or not keys:
            return
        ack = uuid.uuid4().hex
        waiting = self._acks[ack] = _Acks()
        clock = asyncio.get_running_loop().time
        deadline = clock() + ACK_TIMEOUT  # for all of it
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self._redis_key(key), _CHANGED, ex=CHANGED_TTL)
                await pipe.execute()
            # Redis answers, but this worker's subscription may be a moment away (a node
            # closes its clients when a failover demotes it): acknowledgements sent before it
            # is back would go unheard, and the change would wait them out for nothing.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hearing.wait(), deadline - clock())
            # Every worker that received it acknowledges, this one included.
            waiting.expected = await publish(self._redis, self._channel, f"{ack} {' '.join(keys)}")
            waiting.check()
            try:
                await asyncio.wait_for(waiting.done.wait(), max(0.0, deadline - clock()))
            except TimeoutError:
                log.warning(
                    "%d of %d worker(s) did not acknowledge a link change within %s s",
                    waiting.expected - waiting.received,
                    waiting.expected,
                    ACK_TIMEOUT,
                )
        except REDIS_ERRORS as exc:
            # Tried even while the breaker is open: a missed invalidation means stale
            # redirects. The other workers' entries expire within link_cache_ttl, and their
            # filters read new keys within KEYS_POLL_SECONDS; say so loudly.
            self._breaker.failure()
            log.error("could not invalidate %r in redis (%s); stale for up to the TTL", keys, exc)
        finally:
            del self._acks[ack]

    async def listen(self) -> None:
        """Keep this worker current: evict (and acknowledge) what other workers announce, and
        keep the filter of known keys; runs until close().

        Stopped by a flag, not by cancelling: redis-py can swallow a cancellation that lands
        while a pub/sub connection is being set up, and the task then never ends (seen in
        about one test in ten as a hung shutdown).
        """
        poller = asyncio.ensure_future(self.keys.poll(self._closing))
        try:
            if self._redis is not None:
                await self._listen(self._redis)
            else:
                await self._closing.wait()
        finally:
            await _cancel(poller)
            await self._reader.aclose()

    async def start(self) -> None:
        """Before the worker serves: subscribe to the channel, then read every key into the
        filter, so that from the first request on an unknown key costs no look-up. If Redis
        or the database is away, the filter stays off and listen() keeps trying."""
        if self._redis is not None:
            pubsub: Any = None
            try:
                pubsub = await open_pubsub(self._redis, ignore_subscribe_messages=True)
                await pubsub.subscribe(self._channel, self._ack_channel)
            except REDIS_ERRORS as exc:
                log.warning("link invalidation channel not reachable at start (%s)", exc)
                if pubsub is not None:
                    with contextlib.suppress(*REDIS_ERRORS):
                        await pubsub.aclose()
                return
            self._subscribed = pubsub
        self.keys.restart()
        try:
            await self.keys.read_new_keys()
        except Exception as exc:
            log.warning("could not read the link keys at start (%s); filter off for now", exc)

    async def _listen(self, redis: RedisClient) -> None:
        # The first retry after a subscription that worked is made at once (a node that closed
        # its clients in a failover takes the next one); later ones wait, for a Redis that is away.
        at_once = True
        while not self._closing.is_set():
            try:
                # The subscription start() made, the first time; a new one after a loss.
                pubsub, self._subscribed = self._subscribed, None
                fresh = pubsub is None
                if pubsub is None:
                    pubsub = await open_pubsub(redis, ignore_subscribe_messages=True)
                try:
                    if fresh:
                        await pubsub.subscribe(self._channel, self._ack_channel)
                        # Whatever changed while we were not listening is unknown: start
                        # clean, and read the keys again (new messages reach the new filter).
                        self._forget_all()
                        self.keys.restart()
                    self._breaker.success()
                    self._hearing.set()
                    at_once = True
                    while not self._closing.is_set():
                        message = await pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                        data: Any = message.get("data") if message else None
                        if not isinstance(data, bytes):
                            continue
                        if message and message.get("channel") == self._ack_channel.encode():
                            acks = self._acks.get(data.decode())
                            if acks is not None:
                                acks.received += 1
                                acks.check()
                        else:
                            await self._announced(redis, data.decode())
                finally:
                    self._hearing.clear()
                    with contextlib.suppress(*REDIS_ERRORS):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            except REDIS_ERRORS as exc:
                log.warning("link invalidation channel lost (%s); retrying", exc)
                self._breaker.failure()
                self._forget_all()
                if at_once:
                    at_once = False
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=1.0)

    async def _announced(self, redis: RedisClient, data: str) -> None:
        ack, *keys = data.split(" ")
        for key in keys:
            self.evict_local(key)
        # Known here now: the worker that changed the link may answer its API call.
        await redis.publish(self._ack_channel, ack)

    def _forget_all(self) -> None:
        self._lru.clear()
        self.bytes = 0
        self._loading.clear()
        self._epoch += 1
        # A message may have been missed: until the keys are read again, look every key up.
        self.keys.off()

    def close(self) -> None:
        """Ask listen() to return (within LISTEN_POLL_SECONDS); it closes the readers."""
        self._closing.set()


class _Acks:
    """Acknowledgements of one change: done when every worker that received it has answered."""

    def __init__(self) -> None:
        self.expected: int | None = None  # known once PUBLISH has answered
        self.received = 0
        self.done = asyncio.Event()

    def check(self) -> None:
        if self.expected is not None and self.received >= self.expected:
            self.done.set()


def _retrieve(loading: Loading) -> None:
    if not loading.cancelled():
        loading.exception()  # retrieved: nobody may be left waiting for it


async def _cancel(task: asyncio.Future[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
