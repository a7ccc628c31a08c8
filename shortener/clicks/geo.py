"""Country of an IP address, offline, from the database bundled in the geoip2fast package."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

DATA_FILES = {"ipv4": "geoip2fast.dat.gz", "ipv6": "geoip2fast-ipv6.dat.gz"}


@functools.cache
def _load(data_file: str) -> Any:
    # Process-wide on purpose: the reader is read-only once loaded and costs 0.2 s (IPv4) to
    # 3 s (IPv6) and tens of MB, so every app built in this process (tests build hundreds)
    # shares one instead of paying that again.
    from geoip2fast import GeoIP2Fast

    started = time.perf_counter()
    reader = GeoIP2Fast(geoip2fast_data_file=data_file)
    log.info("geoip database %s loaded in %.1fs", data_file, time.perf_counter() - started)
    return reader


class CountryLookup:
    """ISO 3166 alpha-2 code of a public address; None for private, reserved or unknown ones.

    About 10-20 µs a lookup (measured with timeit); recent addresses are memoised.
    """

    def __init__(self, database: str = "ipv6") -> None:
        self._reader = _load(DATA_FILES[database])
        # Visitors come back, and at thousands of clicks a second ~20 µs a lookup is real CPU;
        # a bounded memo of recent addresses (per app, in memory only) answers them in ~0.1 µs.
        self.country = functools.lru_cache(maxsize=8192)(self._country)  # type: ignore[method-assign]

    def country(self, ip: str | None) -> str | None:
        return self._country(ip)

    def _country(self, ip: str | None) -> str | None:
        if ip is None:
            return None
        try:
            code: str = self._reader.lookup(ip).country_code
        except Exception:  # the library's own errors for odd input; never worth a lost click
            return None
        # geoip2fast answers "--" (private/reserved) and "" (not found) for "no country".
        return code if len(code) == 2 and code.isalpha() else None
