"""Roles and what each may do: the one table every workspace-scoped route is checked against.

A route names the permission it needs (workspaces/deps.py); a bearer token carries every
permission of the caller's role, an API key only its scopes, cut to its creator's current role.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["owner", "admin", "editor", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)

Permission = Literal[
    "links:read",  # links, tags, domains' names, exports
    "stats:read",  # a link's statistics
    "links:write",  # create, change, delete, import links
    "domains:write",  # add, verify, change and delete custom domains
    "webhooks:read",  # webhooks and their deliveries
    "webhooks:write",  # add, delete webhooks; redeliver
    # API keys of one's own, within one's role (members:write adds seeing and revoking the
    # members' keys, apikeys/service.py); demoting or removing a member cuts their keys' reach
    # (workspaces/deps.py).
    "keys:write",
    "members:write",  # invite, remove and change members (not owners)
    "owners:write",  # make, demote and remove owners; the workspace's settings
]

_VIEWER: frozenset[Permission] = frozenset({"links:read", "stats:read", "keys:write"})
_EDITOR: frozenset[Permission] = _VIEWER | {
    "links:write",
    "domains:write",
    "webhooks:read",
    "webhooks:write",
}
_ADMIN: frozenset[Permission] = _EDITOR | {"members:write"}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "viewer": _VIEWER,
    "editor": _EDITOR,
    "admin": _ADMIN,
    "owner": _ADMIN | frozenset[Permission]({"owners:write"}),
}


# What an API key's scopes (apikeys/schemas.py) allow, before its creator's role cuts them:
# as before workspaces, a key that writes links may manage domains and webhooks too.
KEY_SCOPES: dict[str, frozenset[Permission]] = {
    "links:read": frozenset({"links:read", "webhooks:read"}),
    "links:write": frozenset({"links:write", "domains:write", "webhooks:write"}),
    "stats:read": frozenset({"stats:read"}),
}


def key_permissions(scopes: frozenset[str]) -> frozenset[Permission]:
    return frozenset().union(*(KEY_SCOPES.get(scope, frozenset()) for scope in scopes))


def scope_for(permission: Permission) -> str | None:
    """The API key scope that allows `permission`, if one does."""
    return next((s for s, allowed in KEY_SCOPES.items() if permission in allowed), None)


def may(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def as_role(text: str) -> Role:
    """A role read back from the database (always one of ROLES)."""
    if text not in ROLES:
        raise ValueError(f"unknown role {text!r}")
    return text  # type: ignore[return-value]
