"""Prometheus metrics, fed from plain counters so the redirect path never touches them.

prometheus-client's multiprocess values are mmap writes under a lock: too dear for every
redirect. The redirect path and the link cache only bump integers on objects they own
(RedirectObserver.statuses, LinkCache.hits and .misses, ...); `sync()`, every second and
right before each scrape, moves what changed into the metrics. Click batches (a few a second)
and API requests (milliseconds each) are observed directly.

Several workers: with PROMETHEUS_MULTIPROC_DIR set (`shortener serve --workers N` sees to it)
each worker writes its own files and a scrape, answered by any worker, adds them up. Counters
and histograms of a worker that is gone still count; its gauges ("live" modes) are dropped
when it shuts down, or at the next scrape if it died without shutting down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import IntegrityError

from shortener.cache import LinkCache
from shortener.clicks.flusher import Flusher
from shortener.clicks.queue import ClickQueue, RedisStreamQueue
from shortener.clicks.recorder import ClickRecorder
from shortener.redisconn import CircuitBreaker

log = logging.getLogger(__name__)

SYNC_SECONDS = 1.0
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def multiprocess_dir() -> str | None:
    """The directory the metric values live in, when prometheus-client runs multiprocess.

    prometheus-client decides when it is first imported, from PROMETHEUS_MULTIPROC_DIR in
    the environment (which it reads itself; `shortener serve` sets it before any worker
    starts): ask it what its values are, and read the variable where it does.
    """
    if not getattr(values.ValueClass, "_multiprocess", False):
        return None
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Metrics:
    def __init__(
        self,
        *,
        statuses: Mapping[int, int],
        cache: LinkCache,
        recorder: ClickRecorder,
        queue: ClickQueue,
        flusher: Flusher,
        breaker: CircuitBreaker,
    ) -> None:
        self._statuses = statuses
        self._cache = cache
        self._recorder = recorder
        self._queue = queue
        self._flusher = flusher
        self._breaker = breaker
        # Failed database calls, by engine ("app": requests; "click_writer": click batches;
        # "read": statistics and exports, while DATABASE_READ_URL is set).
        # Bumped by SQLAlchemy event hooks (the click writer's from its own thread: one
        # writer per key, so no update is lost).
        self.database_errors: dict[str, int] = {"app": 0, "click_writer": 0}
        self._synced: dict[Any, float] = {}
        self._lock = asyncio.Lock()

        self.registry = registry = CollectorRegistry()
        self.redirects = Counter(
            "shortener_redirects",
            "Answers on the redirect path (GET/HEAD/POST /{key}) by HTTP status",
            ["status"],
            registry=registry,
        )
        self.cache_hits = Counter(
            "shortener_link_cache_hits",
            "Link look-ups by the layer that answered: local (in-process), filter (a key that "
            "does not exist, known without a look-up), redis, database",
            ["layer"],
            registry=registry,
        )
        self.cache_misses = Counter(
            "shortener_link_cache_misses",
            "Link look-ups no layer knew (unknown keys the filter let through; remembered "
            "briefly as unknown)",
            registry=registry,
        )
        self.clicks_queued = Counter(
            "shortener_clicks_queued", "Clicks put on the click queue", registry=registry
        )
        self.clicks_flushed = Counter(
            "shortener_clicks_flushed",
            "Clicks written to the database (each click once)",
            registry=registry,
        )
        self.clicks_pending = Gauge(
            "shortener_clicks_pending",
            "Clicks waiting in the workers' own buffers (in-process queue, or while Redis is away)",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.stream_pending = Gauge(
            "shortener_click_stream_pending",
            "Clicks waiting in the Redis stream (Redis mode)",
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.queue_lag = Gauge(
            "shortener_click_queue_lag_seconds",
            "Age of the oldest click not yet written to the database (0 when none waits)",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.flush_batch_size = Histogram(
            "shortener_click_flush_batch_size",
            "Clicks per batch written by the flusher",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
            registry=registry,
        )
        self.flush_duration = Histogram(
            "shortener_click_flush_duration_seconds",
            "Time to write and acknowledge one click batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.db_errors = Counter(
            "shortener_database_errors",
            "Failed database calls (refused connections, timeouts, errors; not constraint "
            "answers such as a taken alias), by source: app, click_writer or read "
            "(DATABASE_READ_URL)",
            ["source"],
            registry=registry,
        )
        self.redis_errors = Counter(
            "shortener_redis_errors", "Failed Redis calls", registry=registry
        )
        self.http = Histogram(
            "shortener_http_request_duration_seconds",
            "API and dashboard requests (not redirects) by route template, method, status",
            ["route", "method", "status"],
            registry=registry,
        )
        for source in self.database_errors:
            self.db_errors.labels(source)  # shown as 0 from the start, not once one happens

    # ---- fed directly (not per redirect) ---------------------------------------------------

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        self.http.labels(route, method, str(status)).observe(seconds)

    def observe_batch(self, size: int, seconds: float) -> None:
        self.flush_batch_size.observe(size)
        self.flush_duration.observe(seconds)

    def watch_engine(self, engine: Engine, source: str) -> None:
        """Count the failed calls of this engine under `source`."""
        counts = self.database_errors
        if source not in counts:
            counts[source] = 0
            self.db_errors.labels(source)

        def on_error(context: ExceptionContext) -> None:
            # A stale pooled connection found by the pre-ping is replaced, not a failure; a
            # constraint answer (alias taken, click already written) is an answer.
            if context.is_pre_ping or isinstance(context.sqlalchemy_exception, IntegrityError):
                return
            counts[source] += 1

        def connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            # A refused connection never reaches handle_error with asyncpg (it raises a plain
            # OSError, not a driver error): count it here. Driver errors reach handle_error.
            try:
                return dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.Error:
                raise
            except Exception:
                counts[source] += 1
                raise

        event.listen(engine, "handle_error", on_error)
        event.listen(engine, "do_connect", connect)

    # ---- moved from the plain counters -----------------------------------------------------

    async def sync(self) -> None:
        """Move what the counters gained since the last sync into the metrics."""
        async with self._lock:  # the periodic task and a scrape may meet
            for status, total in list(self._statuses.items()):
                self._add(self.redirects.labels(str(status)), ("status", status), total)
            for layer, total in list(self._cache.hits.items()):
                self._add(self.cache_hits.labels(layer), ("layer", layer), total)
            self._add(self.cache_misses, "misses", self._cache.misses)
            self._add(self.clicks_queued, "queued", self._recorder.queued)
            self._add(self.clicks_flushed, "flushed", self._flusher.flushed)
            for source, total in list(self.database_errors.items()):
                self._add(self.db_errors.labels(source), ("db", source), total)
            self._add(self.redis_errors, "redis", self._breaker.failures)
            await self._backlog()

    def _add(self, counter: Any, key: Any, total: float) -> None:
        delta = total - self._synced.get(key, 0)
        if delta > 0:
            counter.inc(delta)
            self._synced[key] = total

    async def _backlog(self) -> None:
        pending, oldest = self._queue.backlog()
        self.clicks_pending.set(pending)
        if isinstance(self._queue, RedisStreamQueue):
            stream = await self._queue.stream_backlog()
            if stream is not None:
                self.stream_pending.set(stream[0])
                if stream[1] is not None:
                    oldest = stream[1] if oldest is None else min(oldest, stream[1])
        self.queue_lag.set(0 if oldest is None else max(0.0, time.time() - oldest))

    async def run(self) -> None:
        """The periodic sync; runs until cancelled."""
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                await self.sync()
            except Exception:
                log.exception("metrics sync failed")

    # ---- exposition ------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text of every worker (blocking file reads: call from a thread)."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        _forget_dead_workers(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def close(self) -> None:
        """This worker stops: its gauges no longer count (its counters still do)."""
        directory = multiprocess_dir()
        if directory is not None:
            multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _forget_dead_workers(directory: str) -> None:
    """Drop the gauges of workers that died without shutting down (killed, crashed)."""
    for path in Path(directory).glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.fullmatch(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's
            continue
