"""Who acts in which workspace, with which role: what workspace-scoped services are given."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Mapped

from shortener.errors import Forbidden
from shortener.models import User, Workspace
from shortener.workspaces.roles import PERMISSIONS, Permission, Role, scope_for


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

    def refusal(self, permission: Permission) -> Forbidden:
        """Why this may not do `permission`: the key's scopes, or the role."""
        if self.api_key_id is not None and permission in PERMISSIONS[self.role]:
            scope = scope_for(permission) or permission
            return Forbidden(f"this API key lacks the '{scope}' scope")
        return Forbidden(
            f"your role in the workspace '{self.workspace.slug}' is {self.role}, "
            f"which does not allow '{permission}'"
        )

    def scope(self, column: Mapped[int] | Mapped[int | None]) -> ColumnElement[bool]:
        """Rows of this workspace (`column` is the table's workspace_id); a site admin keeps
        seeing every row, as before workspaces."""
        return true() if self.user.is_admin else column == self.workspace_id  # type: ignore[return-value]
