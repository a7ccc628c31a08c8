"""Who acts in which workspace, with which role: what workspace-scoped services are given."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Mapped

from shortener.models import User, Workspace
from shortener.workspaces.roles import Permission, Role


@dataclass(frozen=True, slots=True)
class Acting:
    user: User
    workspace: Workspace
    role: Role
    # What this request may do here: the role's permissions (a bearer token), or an API key's
    # scopes cut to its creator's role.
    permissions: frozenset[Permission]
    # Set when the caller authenticated with an API key (which belongs to this workspace).
    api_key_id: int | None = None

    @property
    def workspace_id(self) -> int:
        return self.workspace.id or 0

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    def scope(self, column: Mapped[int] | Mapped[int | None]) -> ColumnElement[bool]:
        """Rows of this workspace (`column` is the table's workspace_id); a site admin keeps
        seeing every row, as before workspaces."""
        return true() if self.user.is_admin else column == self.workspace_id  # type: ignore[return-value]
