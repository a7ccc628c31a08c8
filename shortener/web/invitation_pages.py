"""/dashboard/invitations/{token}: the page an invitation link opens (the `url` of
POST /api/workspaces/{slug}/invitations). Signed in, it shows whose workspace and which role,
and a button that accepts (the same service as POST /api/invitations/{token}/accept)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.web.csrf import check_csrf
from shortener.web.pages import redirect, render
from shortener.web.session import PageUser
from shortener.workspaces import members
from shortener.workspaces.paths import home_of

router = APIRouter(prefix="/dashboard/invitations", include_in_schema=False)
Csrf = Depends(check_csrf)
Token = Annotated[str, Path(max_length=100)]
# The page's address holds the token: it must not leave in a Referer.
NO_REFERRER = {"referrer-policy": "no-referrer"}


@router.get("/{token}")
async def invitation_page(
    request: Request, token: Token, user: PageUser, session: SessionDep
) -> Response:
    invitation, workspace = await members.pending(session, token=token)
    context = {"workspace": workspace, "role": invitation.role, "token": token}
    response = render(request, "invitation.html", context, user=user)
    response.headers.update(NO_REFERRER)
    return response


@router.post("/{token}", dependencies=[Csrf])
async def accept_invitation(
    request: Request, token: Token, user: PageUser, session: SessionDep
) -> Response:
    workspace, role = await members.accept(session, user=user, token=token)
    return redirect(request, home_of(workspace), f"You joined {workspace.name} as {role}.")
