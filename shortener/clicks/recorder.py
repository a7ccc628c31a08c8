"""Turns an answered redirect into a ClickRecord and queues it.

This runs after the response has been sent, in the worker that answered: it is the only place
the raw IP is seen, so what needs the IP (the country, the visitor hash) is derived here and
the IP goes no further. The user agent and referrer travel as they are and are parsed by the
flusher, off this path. Cost per click: a GeoIP lookup (~10-20 µs), one SHA-256 and a queue
put; the day's salt comes from memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shortener.clicks.client_ip import TrustedProxies, client_ip
from shortener.clicks.events import ClickRecord
from shortener.clicks.geo import CountryLookup
from shortener.clicks.queue import ClickQueue
from shortener.clicks.salts import SaltProvider, day_of, visitor_hash

log = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]


def header(headers: Headers, name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""


class ClickRecorder:
    def __init__(
        self,
        queue: ClickQueue,
        *,
        salts: SaltProvider | None = None,
        countries: CountryLookup | None = None,
        trusted_proxies: TrustedProxies | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._salts = salts
        self._countries = countries
        self._trusted = trusted_proxies or TrustedProxies.parse("127.0.0.1,::1")
        # Replaceable so tests can move through days without waiting for them.
        self.clock = clock

    async def record(
        self, link_id: int, headers: Headers, peer: str | None, *, variant: int | None = None
    ) -> None:
        try:
            click = await self._click(link_id, headers, peer)
            click.variant = variant
            await self._queue.put(click)
        except Exception:
            # Never let recording break the response that was already sent; the queues
            # themselves fall back locally, so reaching here is a bug worth a stack trace.
            # (The message names the link only: never the address.)
            log.exception("could not queue a click for link %s", link_id)

    async def _click(self, link_id: int, headers: Headers, peer: str | None) -> ClickRecord:
        ts = self.clock()
        user_agent = header(headers, b"user-agent")[:512]
        ip = client_ip(peer, header(headers, b"x-forwarded-for"), self._trusted)
        country = self._countries.country(ip) if self._countries is not None else None
        hashed = None
        if ip is not None and self._salts is not None:
            try:
                salt = await self._salts.salt_for(day_of(ts))
            except Exception as exc:
                # The database is down at the first click of a day: count the click anyway.
                log.warning("no visitor salt (%s); click recorded without a visitor", exc)
            else:
                hashed = visitor_hash(salt, ip, user_agent)
        return ClickRecord(
            link_id=link_id,
            ts=ts,
            user_agent=user_agent,
            referrer=header(headers, b"referer")[:2048],
            country=country,
            visitor_hash=hashed,
        )
