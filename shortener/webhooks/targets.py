"""Where a webhook may be sent: no SSRF into loopback, private, link-local or reserved networks.

The target is checked when the endpoint is registered and again at every attempt, on the
addresses the name resolves to *then*, and the request is sent to the address that was checked
(with the original Host header and TLS server name): a DNS answer that changes between the check
and the connection (DNS rebinding) cannot smuggle a request into a private network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

from ada_url import URL

from shortener.addresses import IPAddress, classify, is_public
from shortener.urls import URLRefused, WebURL, parse_web_url


class TargetRefused(Exception):
    """The target may not be called; the message says why."""


def is_blocked(ip: IPAddress) -> bool:
    """True when a webhook may not reach `ip` (shortener.addresses says what is public)."""
    return not is_public(ip)


async def resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"the host '{host}' does not resolve") from exc
    # The scope id of a link-local IPv6 answer ("fe80::1%eth0") is not part of the address.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"the host '{host}' does not resolve")
    return addresses


@dataclass(frozen=True, slots=True)
class PinnedTarget:
    """The URL to connect to, and what makes the request still name the original host."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise TargetRefused when `url` may not receive webhooks."""
    await pin_target(url, allow_private=allow_private)


async def pin_target(url: str, *, allow_private: bool) -> PinnedTarget:
    # The host is read as everywhere else (shortener.urls): an old row stored before URLs were
    # normalised is read the way the check that accepted it would read it today.
    try:
        target = parse_web_url(url)
    except URLRefused as exc:
        raise TargetRefused(str(exc)) from None
    if allow_private:
        return PinnedTarget(target.href)
    if target.address is not None:
        addresses = [target.address]
    else:
        port = target.port or (443 if target.scheme == "https" else 80)
        addresses = await resolve(target.host, port)
    blocked = [ip for ip in addresses if is_blocked(ip)]
    if blocked:
        # Any private answer refuses the lot: an attacker's name may mix public and private.
        raise TargetRefused(
            f"the host '{target.host}' is on a non-public address ({blocked[0]}: "
            f"{classify(blocked[0])}); webhooks cannot target it unless ALLOW_PRIVATE_WEBHOOKS=true"
        )
    if target.address is not None:
        return PinnedTarget(target.href)
    return pinned_to(target, addresses[0])


def pinned_to(target: WebURL, ip: IPAddress) -> PinnedTarget:
    """A request for `target` sent to `ip`, still naming the target's host (Host and SNI)."""
    pinned = URL(target.href)
    host_header = pinned.host  # the name (and a non-default port) the receiver expects
    pinned.hostname = f"[{ip}]" if ip.version == 6 else str(ip)
    pinned.username = ""
    pinned.password = ""
    pinned.hash = ""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return PinnedTarget(pinned.href, {"Host": host_header}, extensions)
