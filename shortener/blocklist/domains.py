"""Hosts as the blocklist compares them: the URL parser's canonical form (shortener.urls).

A domain is lower-case ASCII (punycode by UTS 46, as browsers encode it) without a trailing
dot; an IP address is its canonical text (IPv4 dotted quad, whatever spelling it came in).
"""

from __future__ import annotations

import ipaddress
import re

from shortener.addresses import embedded_ipv4
from shortener.urls import WebURL, canonical_host

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def normalise_domain(domain: str) -> str:
    """`domain` (or an IP address) in its canonical form; ValueError when it is neither."""
    name = domain.strip()
    if name.startswith("*."):  # people write wildcards; subdomains are blocked anyway
        name = name[2:]
    try:
        host = canonical_host(name)
    except ValueError:
        raise ValueError(f"{domain!r} is not a valid domain name") from None
    if _is_ip(host):
        return host
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{domain!r} is not a valid domain name")
    return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def candidates(target: WebURL) -> list[str]:
    """The blocklist entries that cover `target`: its domain and every parent domain, or its
    IP address and the IPv4 address an IPv6 one carries (mapped, NAT64, ...)."""
    if target.address is not None:
        inner = embedded_ipv4(target.address)
        return [target.host] + ([str(inner)] if inner is not None else [])
    return suffixes(target.host)


def suffixes(host: str) -> list[str]:
    """The host and every parent domain: a.b.example.com, b.example.com, example.com, com."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
