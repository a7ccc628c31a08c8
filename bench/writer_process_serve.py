#!/usr/bin/env python
"""`shortener serve` with the embedded store's clicks written in a process of their own.

An experiment of bench/scale_bench.py (modes `embedded-process` and `embedded-process-dropped`),
never a way to run the service: does the click writer lengthen the redirects' tail because it
shares the serving worker's interpreter lock (a thread of that process), or because it needs
CPU on the same two cores? Here each batch is pickled to a child process (one a worker,
spawned at its first batch) that writes it with the service's own write_clicks_sync, on its
own interpreter. With BENCH_WRITER=drop the child returns at once instead: the same hand-over,
pickling and all, with no write. The difference between the two is what writing costs the
redirects when it no longer holds their lock.

    BENCH_WRITER=write|drop python bench/writer_process_serve.py --port 8000
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import shortener.clicks.writer_thread as writer_thread
from shortener.cli import main
from shortener.clicks.events import ClickRecord
from shortener.clicks.writer import ORPHANS_PER_MINUTE, write_clicks_sync
from shortener.db import make_sync_engine

_child: dict[str, Any] = {}  # the child's engine and settings


def _start_child(database_url: str, orphans_per_minute: int, drop: bool) -> None:
    _child.update(
        engine=make_sync_engine(database_url), orphans_per_minute=orphans_per_minute, drop=drop
    )


def _write_in_child(clicks: Sequence[ClickRecord]) -> int:
    if _child["drop"]:
        return len(clicks)  # what the writer returns: the clicks it counted
    with Session(_child["engine"]) as session, session.begin():
        return write_clicks_sync(session, clicks, orphans_per_minute=_child["orphans_per_minute"])


class ProcessClickWriter:
    """writer_thread.SqliteClickWriter's interface, the batches written by a child process."""

    def __init__(self, database_url: str, *, orphans_per_minute: int = ORPHANS_PER_MINUTE) -> None:
        drop = os.environ.get("BENCH_WRITER") == "drop"
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=(database_url, orphans_per_minute, drop),
        )

    async def write(self, clicks: Sequence[ClickRecord]) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _write_in_child, list(clicks))

    def watch_engine(self, callback: Callable[[Engine], None]) -> None:
        pass  # the engine lives in the child: its errors go uncounted in this experiment

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True)


if os.environ.get("BENCH_WRITER") not in {"write", "drop"}:
    sys.exit("bench/writer_process_serve.py: set BENCH_WRITER to write or drop")
# A renamed writer would leave the clicks written on the thread and the experiment measuring
# the service as it is.
if not isinstance(getattr(writer_thread, "SqliteClickWriter", None), type):
    sys.exit("bench/writer_process_serve.py: writer_thread has no SqliteClickWriter class")
writer_thread.SqliteClickWriter = ProcessClickWriter  # type: ignore[misc,assignment]

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
