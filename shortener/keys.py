"""Short keys: random and MD5-derived keys, and the rules for custom aliases."""

from __future__ import annotations

import hashlib
import re
import secrets
import string

BASE62 = string.digits + string.ascii_letters
KEY_LENGTH = 7
ALIAS_RE = re.compile(r"[0-9A-Za-z_-]{3,64}")
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


def alias_problem(alias: str) -> str | None:
    """Why `alias` cannot be a key, or None when it can."""
    if not ALIAS_RE.fullmatch(alias):
        return "an alias is 3-64 characters of letters, digits, '_' and '-'"
    if alias.lower() in RESERVED:
        return f"'{alias}' is reserved"
    return None


def looks_like_key(path_segment: str) -> bool:
    """Cheap test used on the redirect path before any lookup."""
    # A compiled pattern: a third of the cost of testing each character in Python.
    return _KEY_PATTERN.fullmatch(path_segment) is not None


_KEY_PATTERN = re.compile(r"[0-9A-Za-z_-]{1,64}")


def link_ident(domain_id: int | None, key: str) -> str:
    """How the link cache, its Redis keys, the filter of known keys and invalidation name a
    link: the key itself on the default domain (so single-domain installs and their Redis
    keys are unchanged), `<domain id>:<key>` on another (':' is never in a key)."""
    return key if domain_id is None else f"{domain_id}:{key}"


def split_ident(ident: str) -> tuple[int | None, str]:
    """link_ident's inverse."""
    domain, colon, key = ident.partition(":")
    return (int(domain), key) if colon else (None, ident)
