"""Hosts: which domain a redirect request is for, from its Host header, per worker.

The verified domains are few and change rarely, so each worker keeps them in a dict and reads
them again when told (a domain change announces DOMAINS_CHANGED on the link cache's
invalidation channel, which every worker hears) and at least every REFRESH_SECONDS (a change
made by the CLI, which has no channel). While no custom domain is verified there is nothing to
choose: every request is for the default domain and no header is read.

The default domain's own redirects (site settings, set by an admin through PATCH
/api/domains/0) are read with the domains, and announced the same way when they change.
The verified hostnames are also what the loop check of link targets refuses (links/context.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from shortener.clicks.client_ip import TrustedProxies, parse_ip
from shortener.domains.hostnames import request_host
from shortener.models import Domain, SiteSetting
from shortener.request_headers import Headers
from shortener.urls import to_ascii

log = logging.getLogger(__name__)

# The cache ident announced when domains change ('@' is never in a key).
DOMAINS_CHANGED = "@domains"
REFRESH_SECONDS = 10.0


# A domain's redirects: where its root, its unknown keys and its ended links send visitors.
REDIRECTS = ("root_url", "not_found_url", "expired_url")
# The default domain has no `domains` row: its redirects are site settings of these names.
DEFAULT_SETTINGS = {f"default_domain.{name}": name for name in REDIRECTS}


@dataclass(frozen=True, slots=True)
class Route:
    """What the redirect path knows of a domain: its id (None: the default domain) and where
    its root, its unknown keys and its ended links send visitors (None: the usual answer)."""

    id: int | None
    hostname: str
    root_location: str | None = None
    not_found_location: str | None = None
    expired_location: str | None = None

    @classmethod
    def of(cls, domain: Domain) -> Route:
        return cls.make(domain.id, domain.hostname, {n: getattr(domain, n) for n in REDIRECTS})

    @classmethod
    def make(cls, domain_id: int | None, hostname: str, urls: Mapping[str, str | None]) -> Route:
        def ascii_(url: str | None) -> str | None:
            return to_ascii(url) if url else None

        return cls(
            id=domain_id,
            hostname=hostname,
            root_location=ascii_(urls.get("root_url")),
            not_found_location=ascii_(urls.get("not_found_url")),
            expired_location=ascii_(urls.get("expired_url")),
        )


class Hosts:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        default_host: str,
        unknown_is_default: bool,
        trusted_proxies: TrustedProxies,
    ) -> None:
        self._engine = engine
        self.default = Route(id=None, hostname=default_host)
        self._unknown_is_default = unknown_is_default
        self._trusted = trusted_proxies
        self.by_host: dict[str, Route] = {}
        self.stale = True  # read before the first request, and again when told
        self._refresh_at = 0.0

    def changed(self, ident: str) -> None:
        """The link cache's on_evict listener: DOMAINS_CHANGED marks the map stale."""
        if ident == DOMAINS_CHANGED:
            self.stale = True

    def due(self) -> bool:
        return self.stale or time.monotonic() >= self._refresh_at

    async def refresh(self) -> None:
        """load(), keeping the domains known so far when the database cannot answer: a
        redirect the cache can answer must not fail for this."""
        try:
            await self.load()
        except Exception as exc:
            log.warning("could not read the domains (%s); keeping the ones known", exc)

    async def load(self) -> None:
        self.stale = False
        self._refresh_at = time.monotonic() + REFRESH_SECONDS
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(Domain).where(col(Domain.verified).is_(True)))).all()
            settings = await conn.execute(
                select(col(SiteSetting.name), col(SiteSetting.value)).where(
                    col(SiteSetting.name).in_(DEFAULT_SETTINGS)
                )
            )
            defaults = {DEFAULT_SETTINGS[name]: value for name, value in settings}
        self.by_host = {row.hostname: Route.of(Domain.model_validate(row)) for row in rows}
        self.default = Route.make(None, self.default.hostname, defaults)

    def route(self, headers: Headers, peer: str | None) -> Route | None:
        """The domain this request is for; None when its host is none of ours."""
        if not self.by_host:
            return self.default
        name = self.host_of(headers, peer)
        route = self.by_host.get(name)
        if route is not None:
            return route
        if self._unknown_is_default or name == self.default.hostname:
            return self.default
        return None

    def host_of(self, headers: Headers, peer: str | None) -> str:
        """The host the visitor asked for, as domains are stored (the port dropped): Host, or
        X-Forwarded-Host when a trusted proxy sent the request."""
        host = forwarded = b""
        for name, value in headers:
            if name == b"host":
                host = value
            elif name == b"x-forwarded-host":
                forwarded = value
        if forwarded and peer is not None:
            # Only a trusted proxy may say which host the visitor asked for.
            address = parse_ip(peer)
            if address is not None and self._trusted.trusts(address):
                host = forwarded
        return request_host(host)
