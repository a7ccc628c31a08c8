"""Domain names as the blocklist compares them: lower-case ASCII (punycode), no trailing dot."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalise_domain(domain: str) -> str:
    """`domain` in its canonical form; ValueError when it is not a domain name."""
    name = domain.strip().rstrip(".").lower()
    if name.startswith("*."):  # people write wildcards; subdomains are blocked anyway
        name = name[2:]
    try:
        name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise ValueError(f"{domain!r} is not a valid domain name") from None
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{domain!r} is not a valid domain name")
    return name


def host_of(url: str) -> str | None:
    """The URL's host, normalised, or None when it has none that is a domain name."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    try:
        return normalise_domain(host)
    except ValueError:
        return host.lower()  # an IP address or something odd: compared as it is


def suffixes(host: str) -> list[str]:
    """The host and every parent domain: a.b.example.com, b.example.com, example.com, com."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
