"""Host names of custom domains: the one place that says whether one is acceptable, and how a
request's Host header is compared with them."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from shortener.errors import Invalid
from shortener.urls import canonical_host

MAX_HOSTNAME = 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_hostname(text: str, *, field: str = "hostname") -> str:
    """`text` as stored: lower-case ASCII (IDNA, as browsers write it), no trailing dot.

    Invalid (422) for a port, a path, an IP address (no DNS record can prove one) or a name
    that is not a DNS name of at least two labels.
    """
    try:
        host = canonical_host(text.strip())
    except ValueError:
        raise Invalid(
            f"{text!r} is not a host name (no scheme, port or path: e.g. go.example.com)",
            field=field,
        ) from None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise Invalid("a domain is a DNS name, not an IP address", field=field)
    labels = host.split(".")
    if len(host) > MAX_HOSTNAME or len(labels) < 2 or not all(map(_LABEL.fullmatch, labels)):
        raise Invalid(
            f"{text!r} is not a DNS name of at least two labels of letters, digits and '-'",
            field=field,
        )
    return host


def request_host(value: bytes) -> str:
    """A Host (or X-Forwarded-Host) header's host as domains are stored: the port dropped,
    lower case, no trailing dot. Cheap on purpose: it runs on every redirect once domains
    exist, and anything odd simply matches no domain."""
    host = value.decode("latin-1").strip()
    if "," in host:  # X-Forwarded-Host after several proxies: the first is the client's
        host = host.split(",", 1)[0].strip()
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return host.lower().rstrip(".")


def short_url(base_url: str, hostname: str | None, key: str) -> str:
    """A link's short URL: BASE_URL for the default domain (hostname None), else the custom
    domain with BASE_URL's scheme (https in production)."""
    if hostname is None:
        return f"{base_url}/{key}"
    return f"{urlsplit(base_url).scheme}://{hostname}/{key}"
