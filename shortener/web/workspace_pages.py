"""/dashboard/workspace: the workspace a page acts in (its members, invitations and settings),
and the user's workspaces (switch, create). Thin routes over workspaces.service, .members and
.invitations, the services the API uses; what each role may do is checked there.

The page is the same under /w/{slug}/dashboard/workspace (workspaces/paths.py): every form
posts back under the prefix it was shown with, so it changes the workspace on the screen.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.db import SessionDep
from shortener.errors import DomainError
from shortener.fields import RowId
from shortener.runtime import runtime_of
from shortener.templating import shown_time
from shortener.web.csrf import check_csrf
from shortener.web.forms import form_errors, form_values
from shortener.web.pages import redirect, render
from shortener.web.session import PageActing, PageMember, PageUser
from shortener.workspaces import deletion, members, service
from shortener.workspaces.acting import Acting
from shortener.workspaces.invitations import send_invitation
from shortener.workspaces.paths import PREFIX, home_of
from shortener.workspaces.roles import ROLES
from shortener.workspaces.schemas import (
    InvitationCreate,
    RoleChange,
    WorkspaceCreate,
    WorkspaceUpdate,
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)
Csrf = Depends(check_csrf)
PAGE = "/dashboard/workspace"
INVITE_FIELDS = ("role", "email")
CREATE_FIELDS = ("name", "slug")


async def _page(
    request: Request,
    session: SessionDep,
    acting: Acting,
    *,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    workspace = acting.workspace
    # A member the workspace's two-factor rule shuts out sees its members and may leave.
    shut_out = not service.meets_two_factor(
        required=workspace.require_two_factor, enabled=acting.user.totp_enabled
    )
    may_manage = acting.may("members:write") and not shut_out
    context = {
        "workspace": workspace,
        "role": acting.role,
        "needs_two_factor": shut_out,
        "may_manage": may_manage,
        "may_own": acting.may("owners:write") and not shut_out,
        "members": await members.list_members(session, workspace=workspace),
        "invitations": (
            await members.list_invitations(
                session, by=acting.user, by_role=acting.role, workspace=workspace
            )
            if may_manage
            else []
        ),
        "roles": ROLES,
        "mine": [
            (w, role, home_of(w))
            for w, role in await service.workspaces_of(session, user=acting.user)
        ],
        "mail_configured": runtime_of(request).mailer.configured,
        **(extra or {}),
    }
    return render(request, "workspace.html", context, user=acting.user, status=status)


@router.get("/workspace")
async def workspace_page(request: Request, acting: PageMember, session: SessionDep) -> Response:
    return await _page(request, session, acting)


@router.post("/workspace/invitations", dependencies=[Csrf])
async def invite(request: Request, acting: PageActing, session: SessionDep) -> Response:
    values = form_values(await request.form(), INVITE_FIELDS)
    runtime = runtime_of(request)
    try:
        body = InvitationCreate.model_validate({k: v for k, v in values.items() if v})
        invited = await send_invitation(
            session,
            settings=runtime.settings,
            mailer=runtime.mailer,
            by=acting.user,
            by_role=acting.role,
            workspace=acting.workspace,
            role=body.role,
            email=body.email,
        )
    except (ValidationError, DomainError) as exc:
        extra = {"errors": form_errors(exc, INVITE_FIELDS), "values": values}
        return await _page(request, session, acting, extra=extra, status=422)
    shown = {
        "what": "invitation",
        "url": invited.url,
        "role": body.role,
        "expires_at": shown_time(invited.invitation.expires_at),
        "mailed": body.email if body.email and invited.mailed else "",
    }
    return redirect(request, PAGE, "Invitation made.", shown=shown, to=acting.user)


@router.post("/workspace/invitations/{invitation_id}/revoke", dependencies=[Csrf])
async def revoke_invitation(
    request: Request, invitation_id: RowId, acting: PageActing, session: SessionDep
) -> Response:
    try:
        await members.revoke_invitation(
            session,
            by=acting.user,
            by_role=acting.role,
            workspace=acting.workspace,
            invitation_id=invitation_id,
        )
    except DomainError as exc:
        return redirect(request, PAGE, _why(exc), kind="error")
    return redirect(request, PAGE, "The invitation is revoked: its link opens nothing now.")


@router.post("/workspace/members/{user_id}/role", dependencies=[Csrf])
async def change_role(
    request: Request, user_id: RowId, acting: PageActing, session: SessionDep
) -> Response:
    try:
        body = RoleChange.model_validate(form_values(await request.form(), ("role",)))
        _, email = await members.change_role(
            session,
            by=acting.user,
            by_role=acting.role,
            workspace=acting.workspace,
            user_id=user_id,
            role=body.role,
        )
    except (ValidationError, DomainError) as exc:
        return redirect(request, PAGE, _why(exc), kind="error")
    return redirect(request, PAGE, f"{email} is now {body.role}.")


@router.post("/workspace/members/{user_id}/remove", dependencies=[Csrf])
async def remove_member(
    request: Request, user_id: RowId, acting: PageMember, session: SessionDep
) -> Response:
    try:
        await members.remove_member(
            session,
            by=acting.user,
            by_role=acting.role,
            workspace=acting.workspace,
            user_id=user_id,
        )
    except DomainError as exc:
        return redirect(request, PAGE, _why(exc), kind="error")
    if user_id == acting.user.id:
        left = f"You left {acting.workspace.name}."
        return redirect(request, await _personal_page(session, acting), left)
    return redirect(request, PAGE, "The member is removed.")


@router.post("/workspace/settings", dependencies=[Csrf])
async def update_settings(request: Request, acting: PageActing, session: SessionDep) -> Response:
    form = await request.form()
    values = form_values(form, ("name",))
    try:
        body = WorkspaceUpdate(
            name=values["name"], require_two_factor=form.get("require_two_factor") == "true"
        )
        await service.update_workspace(
            session,
            user=acting.user,
            role=acting.role,
            workspace=acting.workspace,
            name=body.name,
            require_two_factor=body.require_two_factor,
        )
    except (ValidationError, DomainError) as exc:
        extra = {"errors": form_errors(exc, ("name", "require_two_factor")), "values": values}
        return await _page(request, session, acting, extra=extra, status=422)
    return redirect(request, PAGE, "The workspace's settings are saved.")


@router.post("/workspace/delete", dependencies=[Csrf])
async def delete_workspace(request: Request, acting: PageActing, session: SessionDep) -> Response:
    # Asked in the form itself (no script needed): the slug typed again.
    typed = form_values(await request.form(), ("confirm",))["confirm"]
    if typed != acting.workspace.slug:
        errors = {"confirm": f"type {acting.workspace.slug} to delete the workspace"}
        return await _page(request, session, acting, extra={"errors": errors}, status=422)
    try:
        links = await deletion.delete_workspace(
            session,
            by=acting.user,
            role=acting.role,
            workspace=acting.workspace,
            cache=runtime_of(request).link_cache,
        )
    except DomainError as exc:
        return redirect(request, PAGE, _why(exc), kind="error")
    gone = f"{acting.workspace.name} is deleted, with its {links:,} link(s)."
    return redirect(request, await _personal_page(session, acting), gone)


@router.post("/workspaces", dependencies=[Csrf])
async def create_workspace(request: Request, user: PageUser, session: SessionDep) -> Response:
    values = form_values(await request.form(), CREATE_FIELDS)
    try:
        body = WorkspaceCreate.model_validate(values)
        workspace = await service.create_workspace(
            session, user=user, name=body.name, slug=body.slug
        )
    except (ValidationError, DomainError) as exc:
        acting = await service.acting_as(session, user=user)
        extra = {"create_errors": form_errors(exc, CREATE_FIELDS), "create_values": values}
        return await _page(request, session, acting, extra=extra, status=422)
    return redirect(request, home_of(workspace), f"Workspace {workspace.name} is ready.")


async def _personal_page(session: SessionDep, acting: Acting) -> str:
    """The workspace page of the user's personal workspace, for when the one on the screen is
    gone for them (left or deleted): named by its own prefix, since the request's would lead
    back to the workspace just left. Nobody leaves a personal workspace."""
    personal = (await service.acting_as(session, user=acting.user)).workspace
    return f"{PREFIX}{personal.slug}{PAGE}"


def _why(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]) for e in exc.errors())
    return str(exc.detail)
