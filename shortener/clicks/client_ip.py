"""Which address a click came from: the peer, or what trusted proxies say in X-Forwarded-For.

uvicorn's proxy_headers (`--forwarded-allow-ips`, which `shortener serve` fills from
TRUSTED_PROXIES) already rewrites the peer when serving; applying the same rule here again is
harmless (a resolved, untrusted peer is taken as it is) and keeps the rule true under any
server, including the tests' ASGI transport.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str) -> IPAddress | None:
    """An address from a header hop: bare, `v4:port`, or `[v6]:port`; None when unreadable."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...]
    everyone: bool = False
    # client_ip's answers for this list: (peer, X-Forwarded-For) -> address.
    memo: dict[tuple[str | None, str], str | None] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @classmethod
    def parse(cls, spec: str) -> TrustedProxies:
        networks: list[IPNetwork] = []
        everyone = False
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            if item == "*":
                everyone = True
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None
        return cls(tuple(networks), everyone)

    def trusts(self, address: IPAddress) -> bool:
        if self.everyone:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self.networks)


MEMO_SIZE = 4096


def client_ip(peer: str | None, forwarded_for: str, trusted: TrustedProxies) -> str | None:
    """The visitor's address: the rightmost X-Forwarded-For hop that is not a trusted proxy.

    The header is read only when the peer itself is trusted; hops left of the first untrusted
    one were written by the client and prove nothing.
    """
    # Memoised per proxy list: parsing with ipaddress costs more than the rest of a click
    # record, and the same visitors and proxies come back again and again. (Bounded, and in
    # this process's memory only, where the raw address already is while its click is made.)
    memo = trusted.memo
    key = (peer, forwarded_for)
    try:
        return memo[key]
    except KeyError:
        pass
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    address = memo[key] = _client_ip(peer, forwarded_for, trusted)
    return address


def _client_ip(peer: str | None, forwarded_for: str, trusted: TrustedProxies) -> str | None:
    if peer is None:
        return None
    address = parse_ip(peer)
    if address is None:
        return None
    if not forwarded_for or not trusted.trusts(address):
        return str(address)
    for hop in reversed(forwarded_for.split(",")):
        hop_address = parse_ip(hop)
        if hop_address is None:
            return None  # a garbled chain: better no address than a forged one
        address = hop_address
        if not trusted.trusts(address):
            break
    return str(address)
