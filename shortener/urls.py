"""Target URLs, read the way browsers read them: one parser for every decision and for Location.

Python's urlsplit and a browser disagree on hostile spellings (`https://evil.com\\@good.com/`
is good.com to urlsplit and evil.com to a browser; `https://%65vil.com/`, `http://0x7f000001/`,
evil.com written with a fullwidth dot), so every URL the service stores or checks goes through
the WHATWG URL standard's parser (Ada, the one inside Node.js), whose host parser also does IDNA
as browsers do (UTS 46 nontransitional: straße.de stays xn--strae-oqa.de, not strasse.de).

The public API:

- `parse_web_url(url)`: any http(s) URL (og_image, webhook targets) -> `WebURL`;
- `parse_target(url, own_hosts=...)`: a redirect target (link url, rules, variants, fallback),
  which also may not loop back to this service -> `WebURL`;
- both raise `URLRefused` (a ValueError; its message is the `detail` to show);
- store and answer `WebURL.href`: the normalised ASCII URL a browser would request;
- `canonical_host(host)`: a bare host name in the canonical form hosts are compared in;
- `host_of(url)`: any URL's host (a referrer's), read the same way;
- `request_host(value)`: a Host header's host name, canonical, without its port;
- `to_ascii(url)`: a stored URL as a Location header can carry it (rows stored before URLs
  were normalised may hold non-ASCII or unnormalised spellings).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from ada_url import URL, HostType

from shortener.addresses import IPAddress, is_this_machine

MAX_URL_LENGTH = 2048
_SAFE = "/?#[]@!$&'()*+,;=:%~-._"


class URLRefused(ValueError):
    """The URL cannot be used; str() says why, in words fit for an API `detail`."""


@dataclass(frozen=True, slots=True)
class WebURL:
    href: str  # normalised and ASCII: what is stored, returned by the API and sent as Location
    scheme: str  # "http" or "https"
    host: str  # canonical_host form: how the blocklist and the loop check compare hosts
    port: int | None  # None for the scheme's default port
    address: IPAddress | None  # the host when it is an IP address
    has_credentials: bool


def _canonical(parsed: URL) -> tuple[str, IPAddress | None]:
    hostname = parsed.hostname
    if parsed.host_type == HostType.IPV6:
        ip: IPAddress = ipaddress.IPv6Address(hostname.strip("[]"))
        return str(ip), ip
    if parsed.host_type == HostType.IPV4:
        ip = ipaddress.IPv4Address(hostname)  # the parser already wrote it as a dotted quad
        return str(ip), ip
    # A trailing dot names the same host (the DNS root); compare without it.
    return hostname.rstrip("."), None


def _parse(url: str) -> URL:
    if len(url) > MAX_URL_LENGTH:
        raise URLRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    # WHATWG would strip tabs and newlines and trim spaces; a URL carrying them was pasted
    # wrongly or is an attack on a header, so it is refused rather than silently repaired.
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        raise URLRefused("the URL contains spaces or control characters")
    scheme, colon, rest = url.partition(":")
    if not colon or scheme.lower() not in ("http", "https"):
        raise URLRefused("only http and https URLs can be shortened")
    if not rest.strip("/\\"):
        raise URLRefused("the URL has no host")
    # WHATWG also reads `http:host`, `http:///host` and `https:\\host` (a browser goes to
    # `host`); such spellings are only ever typos or tricks, so the host must follow "//".
    if not rest.startswith("//") or rest[2:3] in ("/", "\\"):
        raise URLRefused("the URL must start with http:// or https:// and then the host")
    try:
        return URL(url)
    except ValueError:
        raise URLRefused(
            "the URL is malformed: its host is not a valid domain name or IP address, "
            "or its port is not a number up to 65535"
        ) from None


def parse_web_url(url: str) -> WebURL:
    """`url` as a browser reads it; URLRefused when it is not an http(s) URL with a host."""
    parsed = _parse(url)
    href = parsed.href
    if len(href) > MAX_URL_LENGTH:
        raise URLRefused(f"the URL is longer than {MAX_URL_LENGTH} characters once normalised")
    host, address = _canonical(parsed)
    if not host:
        raise URLRefused("the URL has no host")
    return WebURL(
        href=href,
        scheme=parsed.protocol.rstrip(":"),
        host=host,
        port=int(parsed.port) if parsed.port else None,
        address=address,
        has_credentials=bool(parsed.username or parsed.password),
    )


@lru_cache(maxsize=256)
def canonical_host(host: str) -> str:
    """`host` (a name, an IPv4 in any spelling, an IPv6 with or without brackets) as compared.

    ValueError when it is not a host on its own (a port, a path or credentials around it).
    """
    text = host.strip()
    if ":" in text and not text.startswith("["):
        text = f"[{text}]"  # a bare IPv6 address, as BASE_URL's host comes from urlsplit
    try:
        parsed = URL(f"http://{text}/")
    except ValueError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    if parsed.href != f"http://{parsed.hostname}/" or not text:
        raise ValueError(f"{host!r} is not a valid host name")
    name, _ = _canonical(parsed)
    if not name:
        raise ValueError(f"{host!r} is not a valid host name")
    return name


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(url: WebURL) -> int:
    return url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]


def _on_this_machine(url: WebURL) -> bool:
    if url.address is not None:
        return is_this_machine(url.address)
    # Browsers resolve localhost and *.localhost to loopback themselves.
    return url.host == "localhost" or url.host.endswith(".localhost")


@lru_cache(maxsize=1024)  # BASE_URL and each verified custom domain
def _own(base_url: str) -> WebURL:
    return parse_web_url(base_url)


def loops_back(target: WebURL, *, own_urls: Iterable[str]) -> bool:
    """True when a visitor sent to `target` would come back to this service (at `own_urls`,
    BASE_URL): its host name in any spelling, on any port (a proxy may listen on several);
    or, where the service is reached at an address of this machine, any spelling of this
    machine on the same port. A program on another port of the same machine is not us."""
    for own in own_urls:
        if not own:
            continue
        me = _own(own)
        if not _on_this_machine(me) and target.host == me.host:
            return True
        same_machine = target.host == me.host or (_on_this_machine(target) and _on_this_machine(me))
        if same_machine and _port(target) == _port(me):
            return True
    return False


# "example.com/x", "example.com:8080", "//example.com": a host first, no scheme. Not
# "javascript:..." or "mailto:...": a scheme is letters without a dot before the colon. Not
# "nope" either: a word with no dot is more likely a mistake than an intranet host name.
_SCHEMELESS = re.compile(r"^(//)?[^/:?#\s]*\.[^/:?#\s]*([:/?#]|$)|^//")


def complete_url(url: str) -> tuple[str, list[str]]:
    """A target as people type it, completed as Bitly and Dub do: `https://` before a URL
    without a scheme, and spaces percent-encoded; with a note for the answer per change."""
    notes = []
    if "://" not in url and url and _SCHEMELESS.match(url):
        url = "https:" + url if url.startswith("//") else "https://" + url
        notes.append("https:// was added: the URL had no scheme")
    if " " in url:
        url = url.replace(" ", "%20")
        notes.append("spaces were percent-encoded (%20)")
    return url, notes


def parse_target(url: str, *, own_urls: Iterable[str]) -> WebURL:
    """`url` as a redirect target: a web URL that does not lead back to this service.

    `own_urls` are the URLs this service is reached at (BASE_URL). The URL is completed first
    (complete_url): what a person types is accepted as a browser's address bar would.
    """
    target = parse_web_url(complete_url(url)[0])
    if loops_back(target, own_urls=own_urls):
        raise URLRefused("a short link cannot point back at this service")
    return target


def host_of(url: str) -> str | None:
    """Any URL's host as a browser reads it (lower-case punycode, no trailing dot), whatever the
    scheme (referrers may be android-app://...); None when it is not a URL or has no host."""
    try:
        host = URL(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") or None


@lru_cache(maxsize=1024)
def request_host(value: str) -> str | None:
    """A request's Host header as canonical_host writes hosts, the port dropped (the domain
    a request was for); None when it names no host."""
    text = value.strip()
    if not text or any(c in text for c in "/?#@\\"):
        return None  # a header with more than host[:port] in it
    try:
        parsed = URL(f"http://{text}/")
    except ValueError:
        return None
    name, _ = _canonical(parsed)
    return name or None


def to_ascii(url: str) -> str:
    """The URL as a Location header can carry it, sending the browser where it would go."""
    try:
        return URL(url).href
    except ValueError:
        pass
    # Not a URL the standard accepts (a row older than this check): a browser could not follow
    # it either, but the header must stay ASCII without spaces or line breaks.
    return quote(url, safe=_SAFE)
