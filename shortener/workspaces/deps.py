"""The workspace a request acts in, and the one check of what its role (or key) may do there.

Every workspace-scoped route declares an `acts("links:write")`-style dependency (the aliases
below): the workspace comes from `X-Workspace` (default: the caller's personal workspace) or,
for an API key, is the key's own. Not a member: 404, as for any other workspace's resource.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.auth.deps import BEARER_ONLY, Principal, api_key_header, identify, oauth2_scheme
from shortener.db import SessionDep, settle
from shortener.errors import Forbidden, NotFound
from shortener.workspaces import service
from shortener.workspaces.acting import Acting
from shortener.workspaces.roles import PERMISSIONS, Permission, key_permissions

WORKSPACE_HEADER = "X-Workspace"


async def act(session: AsyncSession, principal: Principal, slug: str | None) -> Acting:
    """Where `principal` acts given the `X-Workspace` it sent (None: none sent)."""
    key_workspace = principal.api_key_workspace_id
    if principal.api_key_id is not None and key_workspace is not None:
        # A key acts in its own workspace only, with its scopes cut to what its creator's
        # role there is now (a demoted or departed creator takes their keys' reach along).
        try:
            workspace, role = await service.membership(
                session, user=principal.user, workspace_id=key_workspace
            )
        except NotFound:
            raise Forbidden(
                "this API key's creator is no longer a member of its workspace"
            ) from None
        if slug is not None and slug != workspace.slug:
            raise NotFound(service.NOT_FOUND)
        permissions = PERMISSIONS[role] & key_permissions(principal.scopes)
    else:
        workspace, role = await service.membership(session, user=principal.user, slug=slug)
        permissions = PERMISSIONS[role]
    service.check_two_factor(workspace, principal.user)
    # As current_principal does: the look-up's transaction ends before the route's work (on
    # SQLite it would hold the write lock the route's other connections wait for).
    await settle(session)
    return Acting(principal.user, workspace, role, permissions, principal.api_key_id)


async def acting(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
    x_workspace: Annotated[
        str | None,
        Header(
            alias=WORKSPACE_HEADER,
            max_length=40,
            description="The workspace's slug (default: your personal workspace)",
        ),
    ] = None,
) -> Acting:
    # One transaction for who is calling and where they act (act settles it).
    return await act(session, await identify(request, session, token, api_key), x_workspace)


def acts(
    permission: Permission,
    *,
    bearer_only: bool = False,
    source: Callable[..., Awaitable[Acting]] = acting,
) -> Callable[[Acting], Awaitable[Acting]]:
    """A dependency: the acting workspace, once `permission` is known to be allowed there
    (`bearer_only`: for what an API key may never do, whatever its scopes). `source` finds
    the workspace: the API's X-Workspace, or the dashboard's /w/{slug}/ (web/session.py)."""

    # A default, not an Annotated hint: postponed annotations cannot see the closure.
    async def dependency(found: Acting = Depends(source)) -> Acting:
        if bearer_only and found.api_key_id is not None:
            raise Forbidden(BEARER_ONLY)
        if not found.may(permission):
            raise found.refusal(permission)
        return found

    return dependency


LinksReader = Annotated[Acting, Depends(acts("links:read"))]
LinksWriter = Annotated[Acting, Depends(acts("links:write"))]
StatsReader = Annotated[Acting, Depends(acts("stats:read"))]
DomainsWriter = Annotated[Acting, Depends(acts("domains:write"))]
# Purging visits to unknown links of the workspace's domains, with a bearer token (as before).
DomainsManager = Annotated[Acting, Depends(acts("domains:write", bearer_only=True))]
# Managing API keys needs a bearer token: a key cannot mint or revoke keys.
KeysWriter = Annotated[Acting, Depends(acts("keys:write", bearer_only=True))]
