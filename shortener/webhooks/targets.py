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
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The target may not be called; the message says why."""


def is_blocked(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for loopback, private, link-local, shared (CGNAT), reserved,
    # unspecified and documentation ranges; multicast is never a web server.
    return not ip.is_global or ip.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
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


def _port(parts_scheme: str, port: int | None) -> int:
    return port or (443 if parts_scheme == "https" else 80)


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise TargetRefused when `url` may not receive webhooks."""
    await pin_target(url, allow_private=allow_private)


async def pin_target(url: str, *, allow_private: bool) -> PinnedTarget:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if allow_private:
        return PinnedTarget(url)
    addresses = await resolve(host, _port(parts.scheme, parts.port))
    blocked = [str(ip) for ip in addresses if is_blocked(ip)]
    if blocked:
        # Any private answer refuses the lot: an attacker's name may mix public and private.
        raise TargetRefused(
            f"the host '{host}' is on a loopback, private, link-local or reserved address "
            f"({blocked[0]}); webhooks cannot target it unless ALLOW_PRIVATE_WEBHOOKS=true"
        )
    ip = addresses[0]
    if str(ip) == host.strip("[]"):
        return PinnedTarget(url)
    netloc = f"[{ip}]" if ip.version == 6 else str(ip)
    if parts.port is not None:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return PinnedTarget(pinned, {"Host": host_header}, extensions)
