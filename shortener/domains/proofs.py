"""Proofs that a user controls a host name: a DNS TXT record, or a body served over HTTP.

Where each proof is looked for is configurable so tests (and operators behind split DNS) can
point it somewhere they control: DNS asks DOMAIN_DNS_SERVERS (dnspython, so the answer is the
record as served, never a stub's cache of another resolver), HTTP goes through an httpx
transport the runtime holds (the tests route it to the app itself, as DNS would).
"""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.resolver
import httpx

WELL_KNOWN = "/.well-known/shortener/"
MAX_BODY = 1024
TIMEOUT = 5.0


def dns_name(hostname: str) -> str:
    return f"_shortener.{hostname}"


def http_path(token: str) -> str:
    return f"{WELL_KNOWN}{token}"


class DomainProofs:
    def __init__(
        self, *, dns_servers: str = "", http_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._dns_servers = [s.strip() for s in dns_servers.split(",") if s.strip()]
        self.http_transport = http_transport

    def _resolver(self) -> dns.asyncresolver.Resolver:
        if not self._dns_servers:
            return dns.asyncresolver.Resolver()
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = []
        for server in self._dns_servers:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            resolver.nameservers.append(host or server)
            if port:
                resolver.port = int(port)
        return resolver

    async def txt_values(self, name: str) -> list[str]:
        """The TXT strings at `name`; empty when there are none or DNS does not answer."""
        try:
            answer = await self._resolver().resolve(name, "TXT", lifetime=TIMEOUT)
        except (dns.exception.DNSException, OSError, ValueError):
            return []
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]

    async def http_body(self, hostname: str, path: str) -> str | None:
        """What http://hostname/path answers with 200 (at most MAX_BODY bytes), else None.

        Redirects are followed (to https, say); the body is only compared, never shown."""
        try:
            async with (
                httpx.AsyncClient(
                    timeout=TIMEOUT, follow_redirects=True, transport=self.http_transport
                ) as client,
                client.stream("GET", f"http://{hostname}{path}") as response,
            ):
                if response.status_code != 200:
                    return None
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        return None
        except (httpx.HTTPError, OSError):
            return None
        return body.decode("utf-8", "replace").strip()
