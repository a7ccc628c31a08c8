"""A real SMTP server for the tests (aiosmtpd, on a free port, in a thread), keeping every
mail it receives, and helpers to wait for one and read its link."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+\?token=\S+")


class Mailbox:
    """What the SMTP server received, in order; safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []
        self.url = ""

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self._messages if to is None or m["To"] == to]

    def _find(self, to: str, subject: str) -> EmailMessage | None:
        found = [m for m in self.messages(to) if subject in str(m["Subject"])]
        return found[-1] if found else None

    async def wait_for(self, to: str, subject: str, timeout: float = 10.0) -> EmailMessage:
        """The latest mail to `to` whose subject holds `subject`, once it has arrived."""
        deadline = time.monotonic() + timeout
        while (message := self._find(to, subject)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail {subject!r} to {to} within {timeout}s")
            await asyncio.sleep(0.02)
        return message

    def wait_for_sync(self, to: str, subject: str, timeout: float = 10.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while (message := self._find(to, subject)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail {subject!r} to {to} within {timeout}s")
            time.sleep(0.02)
        return message


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    links = LINK.findall(body.get_content())
    assert len(links) == 1, links
    return str(links[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A running SMTP server; `mailbox.url` is its SMTP_URL."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    yield box
    controller.stop()
