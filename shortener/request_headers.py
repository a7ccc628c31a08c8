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


def _text(value: bytes) -> str:
    # Servers hand headers over as bytes; clients that send non-ASCII (a user agent naming an
    # app in its own script, an IDN referrer) send UTF-8, which latin-1 would turn into mojibake.
    # Bytes that are not UTF-8 are still read as latin-1, as HTTP's old default says.
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


def read_headers(headers: Headers) -> RequestHeaders:
    found = RequestHeaders()
    for name, value in headers:
        if name == b"user-agent":
            found.user_agent = _text(value)
        elif name == b"accept-language":
            found.accept_language = _text(value)
        elif name == b"x-forwarded-for":
            found.forwarded_for = _text(value)
        elif name == b"referer":
            found.referrer = _text(value)
    return found
