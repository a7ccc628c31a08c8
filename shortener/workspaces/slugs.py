"""Workspace slugs: what X-Workspace and URLs name a workspace by. No database here."""

from __future__ import annotations

import re
from collections.abc import Callable

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])")
SLUG_RULE = "a slug is 3-40 characters of a-z, 0-9 and '-', not starting or ending with '-'"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def is_slug(text: str) -> bool:
    return SLUG_RE.fullmatch(text) is not None


def slug_base(email: str) -> str:
    """A personal workspace's slug from the e-mail address's local part (`Ann.Lee+x@...` ->
    `ann-lee-x`), short enough to take a `-<n>` (see personal_slug)."""
    base = _NOT_SLUG.sub("-", email.partition("@")[0].lower()).strip("-")[:34].strip("-")
    if len(base) < 3:
        base = f"{base}-ws" if base else "workspace"
    return base


def personal_slug(email: str, taken: Callable[[str], bool]) -> str:
    """slug_base, with `-2`, `-3`, ... added until `taken` says it is free."""
    base = slug_base(email)
    slug, n = base, 1
    while taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug
