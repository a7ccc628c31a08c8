"""Reading a text/event-stream response the way a browser's EventSource does."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class Block:
    """One blank-line-terminated block: its fields, its comment lines and its raw text."""

    fields: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    raw: str = ""

    @property
    def event(self) -> str | None:
        return self.fields.get("event")

    def data(self) -> Any:
        return orjson.loads(self.fields["data"])


class EventReader:
    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        self._lines = response.aiter_lines()
        self.raw: list[str] = []  # every line read, for the privacy checks

    async def block(self, timeout: float) -> Block:
        """The next block; AssertionError after `timeout` seconds, EOFError at the end."""
        block = Block()
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                self.raw.append(line)
                if line == "":
                    if block.fields or block.comments:
                        return block
                    continue
                block.raw += line + "\n"
                if line.startswith(":"):
                    block.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    block.fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")

    async def clicks(self, timeout: float) -> Any:
        """The data of the next `clicks` event (keep-alive comments are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no clicks event within {timeout}s")
            try:
                block = await self.block(remaining)
            except TimeoutError:
                raise AssertionError(f"no clicks event within {timeout}s") from None
            if block.event == "clicks":
                return block.data()

    async def until_total(self, total: int, timeout: float) -> list[Any]:
        """The clicks events up to the first with this total, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            data = await self.clicks(max(0.0, deadline - time.monotonic()))
            seen.append(data)
            if data["total_clicks"] >= total:
                return seen
