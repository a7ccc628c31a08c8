"""X-Request-ID: taken from the request when it is safe to repeat, made up otherwise.

Made-up ids are a random per-process prefix and a counter: unique across workers and
restarts, and far cheaper than a uuid4 on every redirect.
"""

from __future__ import annotations

import itertools
import re
import secrets
from contextvars import ContextVar

HEADER = b"x-request-id"
MAX_LENGTH = 128
# What a request id may hold: enough for UUIDs, trace ids and base64, nothing that could
# break a log line or a header (no spaces, quotes, control characters).
_SAFE = re.compile(rb"[A-Za-z0-9._:+/=-]{1,%d}" % MAX_LENGTH).fullmatch

# The id of the request being answered, for every log line written while answering it.
current_request_id: ContextVar[bytes | None] = ContextVar("request_id", default=None)


class RequestIds:
    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6).encode() + b"-"
        self._next = itertools.count(1).__next__

    def new(self) -> bytes:
        return b"%s%x" % (self._prefix, self._next())

    def of(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        """The request's own id when it sent a safe one, else a new one."""
        for name, value in headers:
            if name == HEADER and _SAFE(value):
                return value
        return b"%s%x" % (self._prefix, self._next())
