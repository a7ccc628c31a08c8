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

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shortener.clicks.events import ClickRecord
from shortener.clicks.queue import Batch, ClickQueue
from shortener.clicks.writer import write_clicks
from shortener.db import is_transient

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0
SET_ASIDE_KEPT = 1000


class Flusher:
    def __init__(
        self,
        queue: ClickQueue,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float,
        batch_size: int,
        max_failures: int = 5,
    ) -> None:
        self._queue = queue
        self._sessionmaker = sessionmaker
        self._interval = interval
        self._batch_size = batch_size
        self._stop = asyncio.Event()
        self._failures = 0  # consecutive failed flushes, whatever the cause: the backoff
        self._refusals = 0  # consecutive ones the database refused (not a lost connection)
        self._max_failures = max_failures
        self._task: asyncio.Task[None] | None = None
        self.flushed = 0
        self.last_flush_at: float | None = None
        # Clicks the database would not take even one by one (the latest, for inspection).
        self.set_aside: list[ClickRecord] = []

    async def flush_once(self) -> int:
        """Write one batch; returns how many clicks it held (0 when the queue is empty)."""
        batch = await self._queue.take(self._batch_size)
        if not batch.clicks:
            return 0
        try:
            written = await self._write(batch.clicks)
        except Exception as exc:
            self._failures += 1
            self._refusals = 0 if is_transient(exc) else self._refusals + 1
            if self._refusals < self._max_failures:
                self._queue.write_failed()
                raise
            written = await self._write_one_by_one(batch)
        self._failures = self._refusals = 0
        await self._queue.ack(batch)
        self.flushed += written
        self.last_flush_at = time.time()
        return len(batch)

    async def _write(self, clicks: list[ClickRecord]) -> int:
        async with self._sessionmaker() as session, session.begin():
            return await write_clicks(session, clicks)

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
            except Exception as exc:
                # The exponent is capped: 2**2000 would not even fit a float.
                delay = min(MAX_BACKOFF, self._interval * 2 ** min(self._failures, 20))
                log.error("click flush failed (%s); retrying in %.1fs", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self.run(), name="click-flusher")
        return self._task

    async def stop(self, *, drain_timeout: float = 10.0) -> None:
        """Finish the batch in hand (never cut a write short), then write what is queued."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=drain_timeout)
            except TimeoutError:
                self._task.cancel()
                self._queue.write_failed()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            try:
                await self.drain()
                return
            except Exception as exc:
                log.error("click flush at shutdown failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
        log.error("shutdown: %d clicks could not be written", await self._queue.pending())
