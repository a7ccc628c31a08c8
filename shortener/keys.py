"""Short keys: random and MD5-derived keys, and the rules for custom aliases."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Iterator

BASE62 = string.digits + string.ascii_letters
KEY_LENGTH = 7
ALIAS_RE = re.compile(r"[0-9A-Za-z_-]{3,64}")
# A multi-segment alias (`docs/2026/report`): up to MAX_SEGMENTS '/'-separated segments, each
# an alias segment; the whole key stays within the links.key column (MAX_KEY_LENGTH).
MAX_SEGMENTS = 8
MAX_KEY_LENGTH = 64
# The sub-resources of a link (`/api/links/{key}/stats`, `.../qr`, the dashboard's `.../delete`
# and `.../live`) are matched before the link itself, so no multi-segment key may end in one.
SUB_RESOURCES = frozenset({"stats", "qr", "live", "delete"})
# The first segment of the dashboard's workspace pages (/w/{slug}/dashboard/...).
WORKSPACE_PREFIX = "w"
# Paths the service serves itself, plus a few that would confuse people or tools.
RESERVED = frozenset(
    {
        "api",
        "docs",
        "redoc",
        "static",
        "login",
        "logout",
        "register",
        # Password reset and e-mail verification (web/reset_pages.py): the mailed links.
        "forgot-password",
        "reset",
        "verify-email",
        "dashboard",
        "healthz",
        "readyz",
        "metrics",
        "openapi.json",
        "favicon.ico",
        "robots.txt",
        "admin",
        "settings",
        "account",
        "assets",
        "well-known",
        ".well-known",
        "sitemap.xml",
        "export",  # /api/links/export would shadow a link of this key in the API
        "import",
        "bulk",
        "rest",  # Shlink's API (compat/shlink)
        "yourls-api.php",  # YOURLS's API (compat/yourls)
    }
)


def random_key(length: int = KEY_LENGTH) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def md5_key(url: str, length: int = KEY_LENGTH) -> str:
    """The first `length` base62 digits of the URL's MD5; longer prefixes resolve collisions."""
    number = int.from_bytes(hashlib.md5(url.encode()).digest(), "big")  # noqa: S324 - not security
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    # Most significant digit first, as a base62 number is written: "the first 7 base62
    # characters of the MD5" (API.md) are its leading digits.
    encoded = "".join(reversed(digits)) or "0"
    return encoded[:length]


def md5_hex(url: str) -> str:
    return hashlib.md5(url.encode()).hexdigest()  # noqa: S324 - an index, not a secret


def alias_problem(alias: str, *, short_segments: bool = False) -> str | None:
    """Why `alias` cannot be a key, or None when it can. `short_segments`: segments of 1 and 2
    characters are accepted too (keys imported from other shorteners)."""
    segments = alias.split("/")
    if len(segments) > MAX_SEGMENTS:
        return f"an alias has at most {MAX_SEGMENTS} '/'-separated segments ({len(segments)} given)"
    if len(alias) > MAX_KEY_LENGTH:
        return f"an alias is at most {MAX_KEY_LENGTH} characters, its '/' included"
    pattern = _KEY_PATTERN if short_segments else ALIAS_RE
    for segment in segments:
        if not pattern.fullmatch(segment):
            if len(segments) == 1:
                return "an alias is 3-64 characters of letters, digits, '_' and '-'"
            return (
                f"each '/'-separated segment of an alias is 3-64 characters of letters, "
                f"digits, '_' and '-' (not {segment!r})"
            )
    if segments[0].lower() in RESERVED:
        return f"'{segments[0]}' is reserved"
    if len(segments) > 1 and segments[0].lower() == WORKSPACE_PREFIX:
        # /w/{slug}/dashboard is the dashboard acting in a workspace (workspaces/paths.py).
        return "a multi-segment alias cannot begin with 'w/' (the dashboard's workspace pages)"
    if len(segments) > 1 and segments[-1].lower() in SUB_RESOURCES:
        return f"a multi-segment alias cannot end in '/{segments[-1]}' (the API's own path)"
    return None


def looks_like_key(path_segment: str) -> bool:
    """Cheap test used on the redirect path before any lookup: one segment of key characters."""
    # A compiled pattern: a third of the cost of testing each character in Python.
    return _KEY_PATTERN.fullmatch(path_segment) is not None


def is_key(text: str) -> bool:
    """Whether `text` can be a key at all: 1 to MAX_SEGMENTS segments of key characters."""
    return len(text) <= MAX_KEY_LENGTH and _KEY_PATH.fullmatch(text) is not None


_KEY_PATTERN = re.compile(r"[0-9A-Za-z_-]{1,64}")
_KEY_PATH = re.compile(rf"[0-9A-Za-z_-]{{1,64}}(?:/[0-9A-Za-z_-]{{1,64}}){{0,{MAX_SEGMENTS - 1}}}")


def key_candidates(path: str) -> Iterator[tuple[str, int]]:
    """The keys a redirect path `/a/b/c` may be for, longest first, each with where the rest
    of the path starts: `a/b/c`, `a/b`, `a` (only those made of whole key segments, within
    MAX_SEGMENTS). Lazy: the caller stops at the first that names a link."""
    end = len(path)
    if end > MAX_KEY_LENGTH + 1:  # no key is longer: start at the last '/' that may end one
        end = path.rfind("/", 1, MAX_KEY_LENGTH + 2)
    valid = False
    while end > 1:
        key = path[1:end]
        # Every shorter prefix of a key is one too: one pattern match for all of them.
        valid = valid or is_key(key)
        if valid:
            yield key, end
        end = path.rfind("/", 1, end)


def link_ident(domain_id: int | None, key: str) -> str:
    """How the link cache, its Redis keys, the filter of known keys and invalidation name a
    link: the key itself on the default domain (so single-domain installs and their Redis
    keys are unchanged), `<domain id>:<key>` on another (':' is never in a key)."""
    return key if domain_id is None else f"{domain_id}:{key}"


def split_ident(ident: str) -> tuple[int | None, str]:
    """link_ident's inverse."""
    domain, colon, key = ident.partition(":")
    return (int(domain), key) if colon else (None, ident)
