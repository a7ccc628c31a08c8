"""The flusher: takes click batches off the queue and writes them, then acknowledges them.

A batch the database refuses stays queued and is retried with exponential backoff, so an
outage loses nothing. A batch refused `max_failures` times in a row for a reason that is not
a lost connection (a "poison" batch: a value the database will never take) is written click by
click, and the clicks that still fail are logged and set aside, so the rest flows again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shortener.aio import cancel_and_wait
from shortener.clicks import partitions
from shortener.clicks.events import ClickRecord
from shortener.clicks.queue import Batch, ClickQueue
from shortener.clicks.retention import cleanup
from shortener.clicks.writer import ORPHANS_PER_MINUTE, write_clicks
from shortener.clicks.writer_thread import ClickWriter
from shortener.db import is_transient

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
CLEANUP_EVERY = 3600.0  # seconds between retention cleanups (each worker; they are idempotent)
SET_ASIDE_KEPT = 1000


class Flusher:
    def __init__(
        self,
        queue: ClickQueue,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float,
        batch_size: int,
        retention_days: int | None = None,
        audit_retention_days: int | None = None,
        on_written: Callable[[Sequence[ClickRecord]], Awaitable[None]] | None = None,
        max_failures: int = 5,
        writer: ClickWriter | None = None,
        orphans_per_minute: int = ORPHANS_PER_MINUTE,
    ) -> None:
        self._orphans_per_minute = orphans_per_minute
        self._queue = queue
        # Where batches are written: a thread of their own in the app, this loop when None.
        self._writer = writer
        # Told each batch once it is committed (webhooks' link.clicked); never fails a flush.
        self._on_written = on_written
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._batch_size = batch_size
        self._stop = asyncio.Event()
        self._failures = 0  # consecutive failed flushes, whatever the cause: the backoff
        self._refusals = 0  # consecutive ones the database refused (not a lost connection)
        self._max_failures = max_failures
        self.flushed = 0
        self._retention_days = retention_days
        self._audit_retention_days = audit_retention_days
        # Monotonic time of the next retention cleanup; the first comes soon after start.
        self.next_cleanup_at = time.monotonic()
        # And of the next check that the coming months' partitions of clicks exist (PostgreSQL).
        self.next_partitions_at = time.monotonic()
        # Clicks the database would not take even one by one (the latest, for inspection).
        self.set_aside: list[ClickRecord] = []
        # Told (clicks, seconds) after each batch is written and acknowledged: the metrics.
        self.on_batch: Callable[[int, float], None] | None = None

    async def flush_once(self) -> int:
        """Write one batch; returns how many clicks it held (0 when the queue is empty)."""
        batch = await self._queue.take(self._batch_size)
        if not batch.clicks:
            return 0
        started = time.perf_counter()
        try:
            written = await self._write(batch.clicks)
        except Exception as exc:
            self._failures += 1
            self._refusals = 0 if is_transient(exc) else self._refusals + 1
            if self._refusals < self._max_failures:
                self._queue.write_failed()
                raise
            written = await self._write_one_by_one(batch)
        except BaseException:
            # Cancelled mid-write: the batch is unacknowledged and must be re-read.
            self._queue.write_failed()
            raise
        self._failures = self._refusals = 0
        await self._queue.ack(batch)
        if self.on_batch is not None:
            # The metrics count link clicks; visits to unknown links are not clicks.
            clicks = sum(1 for c in batch.clicks if not c.orphan)
            self.on_batch(clicks, time.perf_counter() - started)
        if self._on_written is not None:
            try:
                # Visits to unknown links are nobody's link.clicked nor any live feed's.
                await self._on_written([c for c in batch.clicks if not c.orphan])
            except Exception:
                log.exception("after-flush hook failed")
        self.flushed += written
        return len(batch)

    async def _write(self, clicks: list[ClickRecord]) -> int:
        if self._writer is not None:
            return await self._writer.write(clicks)
        async with self._sessionmaker() as session, session.begin():
            return await write_clicks(session, clicks, orphans_per_minute=self._orphans_per_minute)

    async def _write_one_by_one(self, batch: Batch) -> int:
        log.error("a click batch failed %d times; writing it click by click", self._max_failures)
        written = 0
        for click in batch.clicks:
            try:
                written += await self._write([click])
            except Exception as exc:
                if is_transient(exc):
                    # The database went away meanwhile: keep the whole batch queued. The
                    # clicks written so far are not counted twice (their ids are taken).
                    self._queue.write_failed()
                    raise
                log.error("setting aside a click the database refuses (%r): %s", exc, click)
                self.set_aside = [*self.set_aside[-(SET_ASIDE_KEPT - 1) :], click]
        return written

    async def drain(self) -> None:
        """Flush until the queue has nothing ready (used at shutdown and by tests)."""
        while await self.flush_once():
            pass

    async def run(self) -> None:
        while not self._stop.is_set():
            delay = self._interval
            try:
                # Keep going while batches come back full, so a burst does not wait.
                while await self.flush_once() >= self._batch_size:
                    pass
                await self._maybe_make_partitions()
                await self._maybe_cleanup()
            except Exception as exc:
                # The exponent is capped: 2**2000 would not even fit a float.
                delay = min(MAX_BACKOFF, self._interval * 2 ** min(self._failures, 20))
                log.error("click flush failed (%s); retrying in %.1fs", exc, delay)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can turn a cancel that lands as
            # the timeout fires into a TimeoutError, and the cancelled loop would go on forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            # A cancel can be swallowed inside flush_once (seen with the Redis queue: shutdown
            # then hung for good); the task still counts as cancelling, so end here.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError

    async def _maybe_make_partitions(self) -> None:
        if time.monotonic() < self.next_partitions_at:
            return
        self.next_partitions_at = time.monotonic() + partitions.ENSURE_EVERY
        made = await partitions.ensure(self._sessionmaker)
        if made.created:
            log.info("clicks: created partitions %s", ", ".join(made.created))

    async def _maybe_cleanup(self) -> None:
        if self._retention_days is None or time.monotonic() < self.next_cleanup_at:
            return
        self.next_cleanup_at = time.monotonic() + CLEANUP_EVERY
        cleaned = await cleanup(
            self._sessionmaker,
            retention_days=self._retention_days,
            audit_retention_days=self._audit_retention_days,
        )
        if cleaned.clicks or cleaned.visitors or cleaned.orphan_visits or cleaned.audit_events:
            log.info(
                "retention: deleted %d raw clicks, %d old visitor rows, %d raw orphan visits, "
                "%d audit events",
                cleaned.clicks,
                cleaned.visitors,
                cleaned.orphan_visits,
                cleaned.audit_events,
            )

    async def stop(
        self, *, running: asyncio.Task[None] | None = None, drain_timeout: float = 10.0
    ) -> None:
        """Stop `running` (the task of run()) and write what is still queued."""
        self._stop.set()
        if running is not None:
            # run() sees the event at its next turn; only a flush hung past the deadline is
            # cancelled (its batch stays unacknowledged and is written by the drain below).
            await asyncio.wait([running], timeout=drain_timeout)
            await cancel_and_wait(running)

        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            try:
                await self.drain()
                return
            except Exception as exc:
                log.error("click flush at shutdown failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
        log.error("shutdown: %d clicks could not be written", await self._queue.pending())
