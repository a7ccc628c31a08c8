"""The stats answer cache: functools.lru_cache, keyed by everything an answer depends on.

lru_cache memoises synchronous functions, and answers come from async queries. So the
lru_cache-decorated function maps a key to a slot (a small holder) and is left to do what it
does well: bound the size and drop the least recently used. The first request for a key
computes the answer and fills the slot; later ones read it, and concurrent ones wait on the
slot's lock for that one computation instead of each running the queries.

Freshness comes from the keys, not from expiry: a key carries the link's version (its click
counter, which the flusher bumps in the transaction that writes a batch, and its updated_at),
read from the database on every request. In every worker, the first request after a batch
commit builds a new key and computes a fresh answer; the stale one ages out of the LRU.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class _Slot:
    __slots__ = ("lock", "ready", "value")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.ready = False
        self.value: Any = None


class StatsCache:
    def __init__(self, maxsize: int) -> None:
        # Built per instance (per app), never at module level: apps in one process (tests)
        # must not share answers.
        self._slot: Callable[[Hashable], _Slot] = functools.lru_cache(maxsize=maxsize)(
            lambda _key: _Slot()
        )

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        slot = self._slot(key)
        if not slot.ready:
            async with slot.lock:
                if not slot.ready:
                    slot.value = await compute()
                    slot.ready = True
        return slot.value  # type: ignore[no-any-return]

    def info(self) -> Any:
        """functools' CacheInfo(hits, misses, maxsize, currsize)."""
        return self._slot.cache_info()  # type: ignore[attr-defined]
