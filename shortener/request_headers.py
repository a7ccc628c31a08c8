"""The few request headers a redirect and its click read, found in one pass over the list."""

from __future__ import annotations

from dataclasses import dataclass

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class RequestHeaders:
    user_agent: str = ""
    accept_language: str = ""
    forwarded_for: str = ""
    referrer: str = ""


def read_headers(headers: Headers) -> RequestHeaders:
    found = RequestHeaders()
    for name, value in headers:
        if name == b"user-agent":
            found.user_agent = value.decode("latin-1")
        elif name == b"accept-language":
            found.accept_language = value.decode("latin-1")
        elif name == b"x-forwarded-for":
            found.forwarded_for = value.decode("latin-1")
        elif name == b"referer":
            found.referrer = value.decode("latin-1")
    return found
