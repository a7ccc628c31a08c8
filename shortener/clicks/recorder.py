"""Turns an answered redirect into a ClickRecord and queues it."""

from __future__ import annotations

import logging
import time

from shortener.clicks.events import ClickRecord
from shortener.clicks.queue import ClickQueue

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]


def header(headers: Headers, name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


class ClickRecorder:
    def __init__(self, queue: ClickQueue) -> None:
        self._queue = queue

    async def record(
        self, link_id: int, headers: Headers, client_ip: str | None, *, variant: int | None = None
    ) -> None:
        click = ClickRecord(
            variant=variant,
            link_id=link_id,
            ts=time.time(),
            user_agent=header(headers, b"user-agent")[:512],
            referrer=header(headers, b"referer")[:2048],
        )
        try:
            await self._queue.put(click)
        except Exception:
            # Never let recording break the response that was already sent; the queues
            # themselves fall back locally, so reaching here is a bug worth a stack trace.
            log.exception("could not queue a click for link %s", link_id)
