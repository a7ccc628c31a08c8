"""Country from an IP address, offline, with the database geoip2fast ships inside its wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import geoip2fast


@cache
def _database() -> geoip2fast.GeoIP2Fast:
    """Loaded once per process, on first use (about 0.1 s); read-only afterwards."""
    # The IPv6 file covers IPv4 too; fall back to the package default when it is absent.
    data = Path(geoip2fast.__file__).parent / "geoip2fast-ipv6.dat.gz"
    return geoip2fast.GeoIP2Fast(
        verbose=False, geoip2fast_data_file=str(data) if data.exists() else ""
    )


class CountryLookup:
    """ISO country code of an address, or None (private, unknown or malformed addresses)."""

    def __call__(self, ip: str | None) -> str | None:
        if not ip:
            return None
        try:
            code = _database().lookup(ip).country_code
        except Exception:  # a malformed address: no country rather than a failed redirect
            return None
        return code if isinstance(code, str) and len(code) == 2 and code.isalpha() else None
