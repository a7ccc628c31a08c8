"""Small asyncio helpers the lifespan needs."""

from __future__ import annotations

import asyncio


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
