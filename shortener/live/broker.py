"""The live feed's transport: per-link events from the flusher to the open dashboard streams.

Each open stream (one browser tab) holds a Subscription: a bounded mailbox that drops its
oldest event when the tab reads too slowly, so a stuck client costs a fixed amount of memory
and never holds up the publisher. Every event carries the link's absolute click total, so a
dropped event loses a few visits from the list, never the count.

Without Redis, publish() hands events to this worker's subscriptions directly. With Redis,
each worker keeps one pub/sub connection and subscribes it to `{prefix}live:{link_id}` for
exactly the links its streams watch, fanning each message out in-process; publishers ask Redis
(PUBSUB NUMSUB) which links anyone watches, so unwatched links cost one round trip per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

from redis.asyncio.client import PubSub

from shortener.live.shutdown import server_exiting
from shortener.redisconn import REDIS_ERRORS, CircuitBreaker, RedisClient, open_pubsub, subscribers
from shortener.rediskeys import RedisKeys

log = logging.getLogger(__name__)

QUEUE_SIZE = 32  # events kept per stream that has not read them yet
POLL_SECONDS = (
    0.25  # the listener's longest wait: new subscriptions and shutdown are seen this fast
)
READY_TIMEOUT = 2.0  # how long a new stream waits for its Redis subscription to be confirmed


def sse_frame(payload: bytes) -> bytes:
    """One `clicks` event in the text/event-stream format (the payload is one line of JSON)."""
    return b"event: clicks\ndata: " + payload + b"\n\n"


class Subscription:
    """One stream's mailbox for one link."""

    def __init__(self, link_id: int, size: int = QUEUE_SIZE, key: str = "") -> None:
        self.link_id = link_id
        self.key = key
        # Set when the link changed or went: the stream must check it may still watch it
        # before it sends anything more.
        self.recheck = False
        self._frames: deque[bytes] = deque(maxlen=size)
        self._wake = asyncio.Event()
        self.closed = False
        self.dropped = 0  # frames a slow tab missed (the queue keeps the newest)

    def put(self, frame: bytes) -> None:
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(frame)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def changed(self) -> None:
        self.recheck = True
        self._wake.set()

    async def wait(self, seconds: float) -> list[bytes]:
        """The frames that arrived, waiting up to `seconds` for one; [] on timeout or close."""
        if not self._frames and not self.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._wake.wait()
        self._wake.clear()
        frames = list(self._frames)
        self._frames.clear()
        return frames


class LiveBroker:
    def __init__(
        self,
        redis: RedisClient | None,
        *,
        prefix: str,
        breaker: CircuitBreaker | None = None,
        queue_size: int = QUEUE_SIZE,
        exiting: Callable[[], bool] = server_exiting,
    ) -> None:
        self._redis = redis
        self._keys = RedisKeys(prefix)
        self._prefix = self._keys.live_prefix
        self._breaker = breaker or CircuitBreaker(cooldown=0)
        self._queue_size = queue_size
        self._exiting = exiting
        self._subs: dict[int, set[Subscription]] = defaultdict(set)
        # Links whose Redis subscription is confirmed (set) or still on its way (not yet set).
        self._ready: dict[int, asyncio.Event] = {}
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        # Seconds between keep-alive comments on an idle stream (proxies drop silent ones).
        self.keepalive = 15.0

    def _channel(self, link_id: int) -> str:
        return self._keys.live(link_id)

    def _link_id(self, channel: bytes | str) -> int | None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        suffix = name.removeprefix(self._prefix)
        return int(suffix) if suffix != name and suffix.isdigit() else None

    @property
    def subscriptions(self) -> int:
        return sum(len(subs) for subs in self._subs.values())

    # ---- the streams' side -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscription(self, link_id: int, key: str = "") -> AsyncIterator[Subscription]:
        """A mailbox for `link_id` while the block runs; with Redis, the worker's subscription
        is confirmed first (or given up on after READY_TIMEOUT), so the caller can read the
        current state knowing that every later change will reach it."""
        sub = Subscription(link_id, self._queue_size, key)
        if self._closing.is_set():
            sub.close()
        self._subs[link_id].add(sub)
        try:
            if self._redis is not None and not sub.closed:
                ready = self._ready.setdefault(link_id, asyncio.Event())
                self._changed.set()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(READY_TIMEOUT):
                        await ready.wait()
            yield sub
        finally:
            # No await here: this runs when a disconnected client's stream is cancelled.
            subs = self._subs.get(link_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    # The listener unsubscribes (and forgets the ready event) at its next turn;
                    # a stream that comes back before then finds the subscription standing.
                    del self._subs[link_id]
                    self._changed.set()

    def link_changed(self, key: str) -> None:
        """A link changed or went (LinkCache's invalidation, from any worker): its streams
        check their permission again. A scan, not an index: open streams are few."""
        for subs in self._subs.values():
            for sub in subs:
                if sub.key == key:
                    sub.changed()

    def _deliver(self, link_id: int, frame: bytes) -> None:
        for sub in list(self._subs.get(link_id, ())):
            sub.put(frame)

    # ---- the publisher's side (the flusher) ------------------------------------------------

    async def watched(self, link_ids: Collection[int]) -> set[int]:
        """The links someone, in any worker, is watching."""
        if self._redis is None:
            return {link_id for link_id in link_ids if link_id in self._subs}
        if not link_ids or not self._breaker.allow():
            return set()
        try:
            counts = await subscribers(self._redis, [self._channel(i) for i in link_ids])
        except REDIS_ERRORS as exc:
            self._breaker.failure()
            log.warning("live feed: redis unavailable (%s); events skipped", exc)
            return set()
        self._breaker.success()
        return {
            link_id
            for channel, count in counts.items()
            if count and (link_id := self._link_id(channel)) is not None
        }

    async def publish(self, link_id: int, payload: bytes) -> None:
        """Send one event (one line of JSON) to every stream watching `link_id`."""
        if self._redis is None:
            self._deliver(link_id, sse_frame(payload))
            return
        if not self._breaker.allow():
            return
        try:
            await self._redis.publish(self._channel(link_id), payload)
        except REDIS_ERRORS as exc:
            self._breaker.failure()
            log.warning("live feed: could not publish (%s)", exc)
            return
        self._breaker.success()

    # ---- the worker's listener and shutdown ------------------------------------------------

    async def run(self) -> None:
        """Until close(): relay Redis messages to this worker's streams, and end every stream
        as soon as the server begins to shut down (uvicorn waits for open responses to finish
        before it runs the lifespan shutdown, so an open stream would otherwise hold it up)."""
        while not self._closing.is_set():
            if self._redis is None:
                await self._pause(POLL_SECONDS)
                continue
            try:
                await self._listen(self._redis)
            except REDIS_ERRORS as exc:
                log.warning("live feed: redis channel lost (%s); retrying", exc)
                self._breaker.failure()
                for ready in self._ready.values():
                    ready.clear()
                await self._pause(1.0)

    async def _listen(self, redis: RedisClient) -> None:
        pubsub: PubSub = await open_pubsub(redis)
        asked: set[int] = set()  # links the connection was asked to subscribe to
        try:
            while not self._closing.is_set():
                self._check_exit()
                self._changed.clear()
                wanted = set(self._subs)
                new, gone = wanted - asked, asked - wanted
                for link_id in gone:
                    self._ready.pop(link_id, None)
                asked = wanted
                if new:
                    await pubsub.subscribe(*(self._channel(i) for i in new))
                if gone:
                    await pubsub.unsubscribe(*(self._channel(i) for i in gone))
                if not asked:
                    await self._pause(POLL_SECONDS, wake=self._changed)
                    continue
                self._handle(await pubsub.get_message(timeout=POLL_SECONDS))
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        link_id = self._link_id(message.get("channel") or b"")
        if link_id is None:
            return
        if message["type"] == "message" and isinstance(message["data"], bytes):
            self._deliver(link_id, sse_frame(message["data"]))
        elif message["type"] == "subscribe" and link_id in self._ready:
            self._ready[link_id].set()
            self._breaker.success()

    async def _pause(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        self._check_exit()
        waits = [asyncio.ensure_future(self._closing.wait())]
        if wake is not None:
            waits.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        self._check_exit()

    def _check_exit(self) -> None:
        if not self._closing.is_set() and self._exiting():
            log.info("server shutting down: closing %d live streams", self.subscriptions)
            self.close()

    def close(self) -> None:
        """End every stream now and refuse new ones; run() returns within POLL_SECONDS."""
        self._closing.set()
        for subs in self._subs.values():
            for sub in subs:
                sub.close()
