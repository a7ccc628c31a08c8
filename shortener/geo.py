"""Country from an IP address, offline, with the database geoip2fast ships inside its wheel."""

from __future__ import annotations

from pathlib import Path

import geoip2fast


class CountryLookup:
    """Loaded once per process (about 0.1 s); a lookup costs a few microseconds."""

    def __init__(self) -> None:
        # The IPv6 file covers IPv4 too; fall back to the package default when it is absent.
        data = Path(geoip2fast.__file__).parent / "geoip2fast-ipv6.dat.gz"
        self._db = geoip2fast.GeoIP2Fast(
            verbose=False, geoip2fast_data_file=str(data) if data.exists() else ""
        )

    def __call__(self, ip: str | None) -> str | None:
        if not ip:
            return None
        try:
            code = self._db.lookup(ip).country_code
        except Exception:  # a malformed address: no country rather than a failed redirect
            return None
        return code if isinstance(code, str) and len(code) == 2 and code.isalpha() else None
