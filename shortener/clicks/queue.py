"""The click queue: an in-process buffer, or a Redis stream read by a consumer group.

Both hand the flusher batches that are removed only once acknowledged, after the database
commit, so a failed write is retried and a crash between commit and acknowledgement is
absorbed by the click id (the flusher inserts each id once).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from redis.exceptions import ResponseError

from shortener.clicks.events import ClickRecord, OrphanRecord
from shortener.redisconn import REDIS_ERRORS, CircuitBreaker, RedisClient
from shortener.rediskeys import RedisKeys

log = logging.getLogger(__name__)

CLICKS_PER_ENTRY = 100  # clicks packed into one stream entry


@dataclass(slots=True)
class Batch:
    clicks: list[ClickRecord]
    local_count: int = 0  # how many came from the in-process buffer (front of it)
    stream_ids: list[bytes] = field(default_factory=list)
    stream_clicks: int = 0  # how many of the clicks came from those stream entries

    def __len__(self) -> int:
        return len(self.clicks)


class ClickQueue(Protocol):
    async def put(self, click: ClickRecord) -> None: ...
    async def put_many(self, clicks: list[ClickRecord]) -> None: ...
    async def take(self, limit: int) -> Batch: ...
    async def ack(self, batch: Batch) -> None: ...
    def write_failed(self) -> None: ...
    async def pending(self) -> int: ...
    async def ready(self) -> bool: ...
    def backlog(self) -> tuple[int, float | None]: ...


class LocalQueue:
    """A process-local buffer. Drained on shutdown; lost only if the process is killed -9."""

    def __init__(self) -> None:
        self._items: deque[ClickRecord] = deque()

    async def put(self, click: ClickRecord) -> None:
        self._items.append(click)

    def put_nowait(self, click: ClickRecord) -> None:
        self._items.append(click)

    async def put_many(self, clicks: list[ClickRecord]) -> None:
        self._items.extend(clicks)

    async def take(self, limit: int) -> Batch:
        n = min(limit, len(self._items))
        clicks = [self._items[i] for i in range(n)]
        return Batch(clicks=clicks, local_count=n)

    async def ack(self, batch: Batch) -> None:
        for _ in range(batch.local_count):
            self._items.popleft()

    def write_failed(self) -> None:
        """Nothing to do: unacknowledged clicks stay at the front of the buffer."""

    async def pending(self) -> int:
        """Link clicks waiting (visits to unknown links are not clicks)."""
        return sum(1 for c in self._items if not c.orphan)

    async def ready(self) -> bool:
        return True

    def backlog(self) -> tuple[int, float | None]:
        """(clicks in this buffer, the oldest one's time): for the metrics."""
        clicks = sum(1 for c in self._items if not c.orphan)
        return clicks, self._items[0].ts if self._items else None


class RedisStreamQueue:
    """A Redis stream with a consumer group; entries are deleted once written to the database.

    A worker that dies leaves its entries pending; another worker claims them after
    `claim_idle_ms`. While Redis cannot be reached, clicks wait in a local buffer that the
    flusher writes straight to the database, so none is lost.
    """

    GROUP = "flushers"

    def __init__(
        self,
        redis: RedisClient,
        *,
        prefix: str,
        claim_idle_ms: int = 30_000,
        breaker: CircuitBreaker | None = None,
        read_stream: bool = True,
    ) -> None:
        self._redis = redis
        # False: take() hands out only what waits in the local buffer; dedicated flushers
        # (`shortener flush`) read the stream.
        self._read_stream = read_stream
        # Open: Redis failed moments ago; clicks go straight to the local buffer rather than
        # each redirect waiting on a dead connection.
        self._breaker = breaker or CircuitBreaker(cooldown=0)
        self.stream = RedisKeys(prefix).click_stream
        self._count_key = RedisKeys(prefix).click_count  # how many clicks the stream holds
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._claim_idle_ms = claim_idle_ms
        self._fallback = LocalQueue()
        self._group_ready = False
        self._read_own_pending = True
        self._clicks_per_entry = CLICKS_PER_ENTRY  # learnt from the entries read

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def put(self, click: ClickRecord) -> None:
        await self.put_many([click])

    async def put_many(self, clicks: list[ClickRecord]) -> None:
        """One round trip for the whole batch; on failure the batch waits in the local buffer.

        Clicks travel packed, up to CLICKS_PER_ENTRY to a stream entry: redis-py spends ~18 µs
        of CPU writing and as much again reading each entry, more than the database write of
        the click (bench/click_pipeline_bench.py), and a packed entry costs about one click's.
        """
        if not clicks:
            return
        if not self._breaker.allow():
            await self._fallback.put_many(clicks)
            return
        # Visits to unknown links travel in entries of their own ("o"): a worker of the
        # previous version drops an entry it cannot read, and must lose no link click with it.
        links = [c for c in clicks if not c.orphan]
        orphans = [c for c in clicks if c.orphan] if len(links) < len(clicks) else []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for kind, records in (("b", links), ("o", orphans)):
                    for i in range(0, len(records), CLICKS_PER_ENTRY):
                        packed = records[i : i + CLICKS_PER_ENTRY]
                        pipe.xadd(self.stream, {"n": len(packed), kind: orjson.dumps(packed)})
                pipe.incrby(self._count_key, len(links))  # the clicks; orphan visits apart
                await pipe.execute()
        except REDIS_ERRORS as exc:
            # Entries that did land come back from the stream too: the click ids dedupe them.
            log.warning("redis unavailable for the click queue, buffering locally: %s", exc)
            self._breaker.failure()
            await self._fallback.put_many(clicks)
            return
        self._breaker.success()

    async def take(self, limit: int) -> Batch:
        batch = await self._fallback.take(limit)
        room = limit - len(batch)
        if room <= 0 or not self._read_stream or not self._breaker.allow():
            return batch
        try:
            await self._ensure_group()
            entries = await self._take_entries(batch, room)
            self._breaker.success()
        except REDIS_ERRORS as exc:
            self._group_ready = False
            # Redis may have handed us entries before the connection broke (they are then
            # pending for this consumer): read our own pending ones first next time, rather
            # than leave them until another consumer claims them as idle.
            self._read_own_pending = True
            self._breaker.failure()
            log.warning("redis unavailable for reading clicks: %s", exc)
            del batch.clicks[batch.local_count :]
            batch.stream_ids.clear()
            batch.stream_clicks = 0
            return batch
        unreadable = [entry_id for entry_id, clicks in entries if not clicks]
        if unreadable:
            await self._discard(unreadable)
        batch.stream_ids = [entry_id for entry_id, clicks in entries if clicks]
        return batch

    async def _take_entries(self, batch: Batch, room: int) -> list[tuple[bytes, int]]:
        """Reads whole entries into the batch until it holds `room` more clicks (a batch may
        pass its limit by part of an entry); returns (entry id, clicks in it) for each.

        How many entries to ask for follows how full the entries have been: a busy stream
        holds full entries, a quiet one an entry a click.
        """
        taken: list[tuple[bytes, int]] = []
        count = max(1, -(-room // self._clicks_per_entry))
        entries, fresh = await self._read(count)
        while True:
            taken += [(entry_id, self._add(batch, fields)) for entry_id, fields in entries]
            clicks = sum(n for _, n in taken)
            if taken and clicks:
                self._clicks_per_entry = max(1, clicks // len(taken))
            # Only new entries are read again: our pending or claimed ones would come back twice.
            if not fresh or len(entries) < count or clicks >= room:
                return taken
            count = max(1, -(-(room - clicks) // self._clicks_per_entry))
            entries = await self._fresh(count)

    @staticmethod
    def _add(batch: Batch, fields: dict[bytes, bytes]) -> int:
        """Adds the entry's clicks to the batch; returns how many (0: not a click entry)."""
        try:
            if b"b" in fields:
                clicks = [ClickRecord(**c) for c in orjson.loads(fields[b"b"])]
            elif b"o" in fields:
                clicks = [OrphanRecord(**c) for c in orjson.loads(fields[b"o"])]
            else:  # one click an entry, as written before clicks were packed
                clicks = [ClickRecord.from_json(fields[b"c"])]
        except (KeyError, ValueError, TypeError):
            return 0
        batch.clicks.extend(clicks)
        batch.stream_clicks += sum(1 for c in clicks if not c.orphan)  # what the count holds
        return len(clicks)

    async def _discard(self, entry_ids: list[bytes]) -> None:
        """Entries that are not clicks would come back forever: log them and drop them."""
        log.error("dropping %d unreadable click-stream entries: %r", len(entry_ids), entry_ids)
        await self._redis.xack(self.stream, self.GROUP, *entry_ids)
        await self._redis.xdel(self.stream, *entry_ids)

    async def _fresh(self, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        fresh: Any = await self._redis.xreadgroup(
            self.GROUP, self._consumer, {self.stream: ">"}, count=count
        )
        return list(fresh[0][1]) if fresh else []

    async def _read(self, count: int) -> tuple[list[tuple[bytes, dict[bytes, bytes]]], bool]:
        """Our own unacknowledged entries first, then idle ones of dead consumers, then new
        ones; the flag says the entries are new ones."""
        if self._read_own_pending:
            # After a restart with the same consumer name (never, as names are unique) or a
            # failed write, our own unacknowledged entries come first.
            mine: Any = await self._redis.xreadgroup(
                self.GROUP, self._consumer, {self.stream: "0"}, count=count
            )
            own = mine[0][1] if mine else []
            if own:
                return [(i, f) for i, f in own if f], False
            self._read_own_pending = False
        claimed: Any = await self._redis.xautoclaim(
            self.stream,
            self.GROUP,
            self._consumer,
            min_idle_time=self._claim_idle_ms,
            start_id="0-0",
            count=count,
        )
        stolen = [(i, f) for i, f in claimed[1] if f]
        if stolen:
            return stolen, False
        return await self._fresh(count), True

    async def ack(self, batch: Batch) -> None:
        await self._fallback.ack(batch)
        if not batch.stream_ids:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xack(self.stream, self.GROUP, *batch.stream_ids)
                pipe.xdel(self.stream, *batch.stream_ids)
                pipe.decrby(self._count_key, batch.stream_clicks)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            # Written but not acknowledged: they come back and the click ids make that harmless.
            log.warning("could not acknowledge %d clicks: %s", len(batch.stream_ids), exc)
            self._read_own_pending = True

    def write_failed(self) -> None:
        """The database refused the batch: read our pending entries again next time."""
        self._read_own_pending = True

    async def pending(self) -> int:
        local = await self._fallback.pending()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xlen(self.stream)
                pipe.get(self._count_key)
                entries, counted = await pipe.execute()
        except REDIS_ERRORS:
            return local
        return local + _stream_clicks(entries, counted)

    async def ready(self) -> bool:
        # Asks Redis itself, whatever the breaker says: readiness must be the truth.
        try:
            ok = bool(await self._redis.ping())
        except REDIS_ERRORS:
            self._breaker.failure()
            return False
        if ok:
            self._breaker.success()
        return ok

    def backlog(self) -> tuple[int, float | None]:
        """What waits in this worker's local buffer (Redis was away); the stream apart."""
        return self._fallback.backlog()

    async def stream_backlog(self) -> tuple[int, float | None] | None:
        """(clicks in the stream, the oldest one's click time); None when Redis is away."""
        if not self._breaker.allow():
            return None
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xlen(self.stream)
                pipe.get(self._count_key)
                pipe.xrange(self.stream, count=1)
                entries, counted, first = await pipe.execute()
        except REDIS_ERRORS:
            self._breaker.failure()
            return None
        self._breaker.success()
        oldest = None
        if first:
            entry_id, fields = first[0]
            probe = Batch(clicks=[])
            # The entry's first click; an entry that is not one tells the time by its id.
            if self._add(probe, fields):
                oldest = probe.clicks[0].ts
            else:
                oldest = int(entry_id.split(b"-")[0]) / 1000
        return _stream_clicks(entries, counted), oldest


def _stream_clicks(entries: int, counted: bytes | None) -> int:
    """How many clicks the stream holds, from XLEN and the count kept beside the stream.

    Entries not written through put_many (or a batch acknowledged twice) can skew the count;
    it is bounded by what the entries can hold and is at least one click a pending entry.
    """
    if not entries:
        return 0
    return max(int(entries), min(int(counted or 0), int(entries) * CLICKS_PER_ENTRY))
