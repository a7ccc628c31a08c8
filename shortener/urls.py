"""Target URL rules: what may be shortened, and how it is written into a Location header."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
_SAFE = "/?#[]@!$&'()*+,;=:%~-._"


def url_problem(url: str, *, own_host: str) -> str | None:
    """Why `url` cannot be a target, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return "the URL is malformed"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https URLs can be shortened"
    if not host:
        return "the URL has no host"
    try:
        ascii_host = _idna(host)
    except UnicodeError:
        return "the URL's host is not a valid domain name"
    if own_host and ascii_host.rstrip(".") == own_host:
        return "a short link cannot point back at this service"
    return None


def _idna(host: str) -> str:
    if host.isascii():
        return host.lower()
    return host.encode("idna").decode("ascii").lower()


def to_ascii(url: str) -> str:
    """The URL as a Location header can carry it: punycode host, percent-encoded path."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = _idna(parts.hostname or "")
    netloc = host
    if parts.port is not None:
        netloc = f"{host}:{parts.port}"
    if parts.username is not None:
        userinfo = quote(parts.username, safe="")
        if parts.password is not None:
            userinfo += ":" + quote(parts.password, safe="")
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_SAFE),
            quote(parts.query, safe=_SAFE),
            quote(parts.fragment, safe=_SAFE),
        )
    )
