"""Click batches written on a thread of their own, away from the requests' event loop.

A batch costs CPU in Python (building rows, rollups, SQLAlchemy's parameter processing). On
the request loop that work holds redirects up whenever traffic keeps the flusher busy: the
redirect benchmark's p99. Here it runs on its own thread, event loop and engine; the request
loop only awaits the result. The GIL still switches between the two every few milliseconds,
which bounds how long a redirect can wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shortener.clicks.events import ClickRecord
from shortener.clicks.writer import write_clicks
from shortener.db import is_sqlite, make_engine, make_sessionmaker

T = TypeVar("T")


class ClickWriterThread:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="click-writer", daemon=True
        )
        self._thread.start()
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        # Given the engine once it exists (on the writer's thread): the metrics count its errors.
        self.on_engine: Callable[[AsyncEngine], None] | None = None

    async def _on_thread(self, coro: Coroutine[Any, Any, T]) -> T:
        # Cancelling the awaiting task cancels the work on the writer's loop too.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def write(self, clicks: Sequence[ClickRecord]) -> int:
        """Write one batch in its own transaction; returns how many clicks were new."""
        return await self._on_thread(self._write(clicks))

    async def _write(self, clicks: Sequence[ClickRecord]) -> int:
        if self._sessionmaker is None:
            # Made on the writer's loop: an async engine belongs to the loop that uses it.
            sizes = {} if is_sqlite(self._url) else {"pool_size": 2, "max_overflow": 2}
            self._engine = make_engine(self._url, **sizes)
            if self.on_engine is not None:
                self.on_engine(self._engine)
            self._sessionmaker = make_sessionmaker(self._engine)
        async with self._sessionmaker() as session, session.begin():
            return await write_clicks(session, clicks)

    async def close(self) -> None:
        if self._engine is not None:
            await self._on_thread(self._engine.dispose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 10)
        if not self._thread.is_alive():
            self._loop.close()
