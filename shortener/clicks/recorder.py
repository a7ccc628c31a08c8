"""Turns answered redirects into ClickRecords and queues them.

A redirect only notes its click (an append) after the response has been sent; the pump, a
task of the worker that answered, makes the records in batches. It is the only place the raw
IP is seen, so what needs the IP (the country, the visitor hash) is derived there and the IP
goes no further. The user agent and referrer travel as they are and are parsed by the
flusher. Cost per click in the pump: a (cached) GeoIP lookup and one SHA-256; the day's salt
comes from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable

from shortener.clicks.client_ip import TrustedProxies, client_ip
from shortener.clicks.events import ClickRecord, OrphanRecord
from shortener.clicks.geo import CountryLookup
from shortener.clicks.orphan_cap import TALLY_SECONDS, OrphanCap
from shortener.clicks.queue import ClickQueue
from shortener.clicks.salts import SaltProvider, day_of, visitor_hash
from shortener.models import ORPHAN_PATH_LENGTH
from shortener.request_headers import Headers, read_headers
from shortener.urls import request_host

log = logging.getLogger(__name__)

# How long the pump lets clicks gather after the first one: long enough to batch a burst,
# short against CLICK_FLUSH_INTERVAL.
PUMP_GATHER_SECONDS = 0.005


class ClickRecorder:
    def __init__(
        self,
        queue: ClickQueue,
        *,
        salts: SaltProvider | None = None,
        countries: CountryLookup | None = None,
        trusted_proxies: TrustedProxies | None = None,
        clock: Callable[[], float] = time.time,
        orphans_per_minute: int = 600,
    ) -> None:
        self._queue = queue
        self._salts = salts
        self._countries = countries
        self._trusted = trusted_proxies or TrustedProxies.parse("127.0.0.1,::1")
        # Replaceable so tests can move through days without waiting for them.
        self.clock = clock
        # Clicks noted by redirects, not yet turned into records: (link id, time, request
        # headers, peer address, variant, and the path asked for when no link has it). The raw
        # address lives here, in memory, briefly.
        # (link id, time, headers, peer, variant, (path, domain) of a visit to an unknown link)
        self._pending: list[
            tuple[int, float, Headers, str | None, int | None, tuple[str, str | None] | None]
        ] = []
        self.orphan_cap = OrphanCap(orphans_per_minute)
        self._wake = asyncio.Event()
        self.queued = 0  # clicks handed to the queue so far (read by the metrics)

    async def record(
        self, link_id: int, headers: Headers, peer: str | None, *, variant: int | None = None
    ) -> None:
        """Note the click: an append, nothing more, on the connection's critical path.

        The pump (run) turns notes into ClickRecords and queues them in batches: one Redis
        round trip per batch instead of one per redirect.
        """
        if not self._pending:
            self._wake.set()
        self._pending.append((link_id, self.clock(), headers, peer, variant, None))

    def record_orphan(
        self, headers: Headers, peer: str | None, path: str, domain: str | None = None
    ) -> None:
        """Note a visit to an unknown link (answered 404): as cheap as a click's note.

        `domain` is the domain the redirect path served it as (an unknown host may be mapped
        to the default one); None reads the request's Host."""
        if not self._pending:
            self._wake.set()
        self._pending.append((0, self.clock(), headers, peer, None, (path, domain)))

    async def ship(self, *, all_tallies: bool = False) -> int:
        """Queue every click noted so far; returns how many records were queued.

        Visits to unknown links past the per-worker cap become no record of their own, only
        a count in a tally record (all of them with `all_tallies`, at shutdown)."""
        pending, self._pending = self._pending, []
        cap = self.orphan_cap
        clicks: list[ClickRecord] = []
        for link_id, ts, headers, peer, variant, unknown in pending:
            orphan = None
            if unknown is not None:
                path, domain = unknown
                orphan = (domain if domain is not None else _domain(headers), stored_path(path))
                if not cap.admit(orphan[0], ts):
                    continue
            try:
                clicks.append(await self._click(link_id, ts, headers, peer, variant, orphan))
            except Exception:
                # A bug, not bad input (headers are only read): keep the rest of the batch.
                # (The message names the link only: never the address.)
                log.exception("could not make a click record for link %s", link_id)
        clicks += cap.tallies(self.clock(), all_due=all_tallies)
        if not clicks:
            return 0
        await self._queue.put_many(clicks)
        # The metrics count link clicks; visits to unknown links are not clicks.
        self.queued += sum(1 for c in clicks if not c.orphan)
        return len(clicks)

    async def run(self) -> None:
        """The pump: wakes when a click is noted, lets a burst gather briefly, ships it."""
        while True:
            # Counted-only visits wait for no new note: their tally leaves within a second or so.
            timeout = TALLY_SECONDS if self.orphan_cap.pending else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            await asyncio.sleep(PUMP_GATHER_SECONDS)
            try:
                await self.ship()
            except Exception:
                log.exception("click pump failed; retrying")

    async def _click(
        self,
        link_id: int,
        ts: float,
        headers: Headers,
        peer: str | None,
        variant: int | None,
        orphan: tuple[str, str] | None = None,
    ) -> ClickRecord:
        request = read_headers(headers)
        user_agent = request.user_agent[:512]
        ip = client_ip(peer, request.forwarded_for, self._trusted)
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
        if orphan is not None:
            return OrphanRecord(
                link_id=0,
                ts=ts,
                user_agent=user_agent,
                referrer=request.referrer[:2048],
                country=country,
                visitor_hash=hashed,
                domain=orphan[0],
                path=orphan[1],
            )
        return ClickRecord(
            link_id=link_id,
            ts=ts,
            user_agent=user_agent,
            referrer=request.referrer[:2048],
            country=country,
            visitor_hash=hashed,
            variant=variant,
        )


def _domain(headers: Headers) -> str:
    """The host name the request was for (port dropped, normalised); "" when it names none."""
    for name, value in headers:
        if name == b"host":
            return request_host(value.decode("latin-1")) or ""
    return ""


_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def stored_path(path: str) -> str:
    """The path as a row can hold it: control characters percent-escaped (PostgreSQL takes no
    NUL, and a line break has no place in a list of paths), lone surrogates replaced, cut to
    ORPHAN_PATH_LENGTH."""
    return _UNSTORABLE.sub(_escape, path)[:ORPHAN_PATH_LENGTH]


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"%{code:02X}" if code < 0x80 else "\ufffd"
