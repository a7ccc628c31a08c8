"""One classification of IP addresses, for the webhook SSRF guard and the redirect loop check.

Python's `ipaddress.is_global` changes between releases and misses forms that reach loopback
(`::7f00:1`, `64:ff9b::7f00:1`, `192.0.0.8` were "global" on 3.11), so the special-purpose
ranges are listed here from the IANA registries, and an IPv6 address that carries an IPv4 one
(mapped, compatible, NAT64, 6to4) is judged by the IPv4 address it reaches.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Kind(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    UNSPECIFIED = "unspecified"
    THIS_NETWORK = "this-network (0.0.0.0/8)"
    PRIVATE = "private"
    SHARED = "shared (carrier-grade NAT)"
    LINK_LOCAL = "link-local"
    UNIQUE_LOCAL = "unique-local"
    PROTOCOL = "IETF protocol assignment"
    DOCUMENTATION = "documentation"
    BENCHMARKING = "benchmarking"
    LOCAL_NAT64 = "local-use NAT64"
    MULTICAST = "multicast"
    RESERVED = "reserved"


def _nets(
    kind: Kind, *cidrs: str
) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Kind]]:
    return [(ipaddress.ip_network(cidr), kind) for cidr in cidrs]


# Checked in order; the first network holding the address names its kind.
_SPECIAL = [
    *_nets(Kind.UNSPECIFIED, "0.0.0.0/32", "::/128"),
    *_nets(Kind.THIS_NETWORK, "0.0.0.0/8"),
    *_nets(Kind.LOOPBACK, "127.0.0.0/8", "::1/128"),
    *_nets(Kind.PRIVATE, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fec0::/10"),
    *_nets(Kind.SHARED, "100.64.0.0/10"),
    *_nets(Kind.LINK_LOCAL, "169.254.0.0/16", "fe80::/10"),
    *_nets(Kind.UNIQUE_LOCAL, "fc00::/7"),
    *_nets(Kind.PROTOCOL, "192.0.0.0/24", "192.88.99.0/24", "2001::/23"),
    *_nets(
        Kind.DOCUMENTATION,
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
        "3fff::/20",
    ),
    *_nets(Kind.BENCHMARKING, "198.18.0.0/15"),
    *_nets(Kind.LOCAL_NAT64, "64:ff9b:1::/48"),
    *_nets(Kind.MULTICAST, "224.0.0.0/4", "ff00::/8"),
    *_nets(Kind.RESERVED, "240.0.0.0/4", "100::/64"),
]
# Everything outside global unicast (2000::/3) is unassigned or special, never a web server.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# A local-use NAT64 prefix may be any length inside 64:ff9b:1::/48; the /96 one (IPv4 in the
# last 32 bits) is the usual deployment, so it is unwrapped; other lengths stay LOCAL_NAT64.
_LOCAL_NAT64_96 = ipaddress.IPv6Network("64:ff9b:1::/96")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped, IPv4-compatible, NAT64, 6to4."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip in _MAPPED or ip in _NAT64 or ip in _LOCAL_NAT64_96 or ip in _COMPATIBLE:
        if ip in _COMPATIBLE and int(ip) <= 1:
            return None  # :: and ::1 are themselves, not 0.0.0.0 / 0.0.0.1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def classify(ip: IPAddress) -> Kind:
    """What kind of network `ip` is on, judging an embedded IPv4 address by itself."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        kind = classify(inner)
        if kind is Kind.PUBLIC and ip in _LOCAL_NAT64_96:
            return Kind.LOCAL_NAT64  # reaches whatever the local translator decides
        if kind is Kind.PUBLIC and ip in _COMPATIBLE:
            return Kind.RESERVED  # a deprecated form (RFC 4291) that no web server uses
        return kind
    for network, kind in _SPECIAL:
        if ip.version == network.version and ip in network:
            return kind
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return Kind.RESERVED
    return Kind.PUBLIC


def is_public(ip: IPAddress) -> bool:
    """True when `ip` is an ordinary address on the internet (a webhook may reach it)."""
    return classify(ip) is Kind.PUBLIC


def is_this_machine(ip: IPAddress) -> bool:
    """True when connecting to `ip` reaches the machine that connects: a short link there loops."""
    return classify(ip) in (Kind.LOOPBACK, Kind.UNSPECIFIED)
