"""Small asyncio helpers the lifespan needs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


async def cancel_and_wait(task: asyncio.Task[None], *, interval: float = 0.1) -> None:
    """Cancel `task` and wait until it has really ended.

    One `cancel()` is not always enough: redis-py (8.x) swallows a CancelledError that lands
    while a command is in flight, and a loop around that command then runs on forever. So the
    cancel is repeated until the task is done.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=interval)
    if not task.cancelled():
        # Retrieve the outcome so asyncio does not warn "exception was never retrieved";
        # the task logs its own failures where they matter.
        task.exception()


def each(*hooks: Callable[[T], Awaitable[None]]) -> Callable[[T], Awaitable[None]]:
    """One hook that calls every one of `hooks` in turn; one failing does not stop the rest."""

    async def call(arg: T) -> None:
        for hook in hooks:
            try:
                await hook(arg)
            except Exception:
                log.exception("hook %s failed", getattr(hook, "__qualname__", hook))

    return call
