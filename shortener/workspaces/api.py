"""The workspaces API: workspaces, their members, invitations. A bearer token only: an API
key belongs to one workspace and cannot manage any."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from shortener.auth.deps import CurrentUser
from shortener.db import SessionDep
from shortener.fields import RowId
from shortener.models import Membership, Workspace
from shortener.openapi import errors
from shortener.runtime import runtime_of
from shortener.workspaces import deletion, members, service
from shortener.workspaces.invitations import send_invitation
from shortener.workspaces.roles import Role, as_role
from shortener.workspaces.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationPublic,
    MemberPublic,
    RoleChange,
    WorkspaceCreate,
    WorkspacePublic,
    WorkspaceUpdate,
)

router = APIRouter(tags=["workspaces"], responses=errors(401, 403, 404))

Slug = Annotated[str, Path(max_length=40)]


async def member_of(slug: Slug, user: CurrentUser, session: SessionDep) -> tuple[Workspace, Role]:
    """The workspace in the path and the caller's role there (404 when not a member)."""
    return await service.membership(session, user=user, slug=slug)


Member = Annotated[tuple[Workspace, Role], Depends(member_of)]


def _public(workspace: Workspace, role: Role) -> WorkspacePublic:
    return WorkspacePublic(
        id=workspace.id or 0,
        name=workspace.name,
        slug=workspace.slug,
        role=role,
        personal=workspace.personal_user_id is not None,
        require_two_factor=workspace.require_two_factor,
        created_at=workspace.created_at,
    )


@router.get("/api/workspaces", response_model=list[WorkspacePublic])
async def list_workspaces(user: CurrentUser, session: SessionDep) -> list[WorkspacePublic]:
    return [_public(w, role) for w, role in await service.workspaces_of(session, user=user)]


@router.post(
    "/api/workspaces",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspacePublic,
    responses=errors(409, 422),
)
async def create_workspace(
    body: WorkspaceCreate, user: CurrentUser, session: SessionDep
) -> WorkspacePublic:
    workspace = await service.create_workspace(session, user=user, name=body.name, slug=body.slug)
    return _public(workspace, "owner")


@router.patch("/api/workspaces/{slug}", response_model=WorkspacePublic, responses=errors(422))
async def update_workspace(
    body: WorkspaceUpdate, member: Member, user: CurrentUser, session: SessionDep
) -> WorkspacePublic:
    workspace, role = member
    await service.update_workspace(
        session,
        user=user,
        role=role,
        workspace=workspace,
        name=body.name,
        require_two_factor=body.require_two_factor,
    )
    return _public(workspace, role)


@router.delete(
    "/api/workspaces/{slug}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409)
)
async def delete_workspace(
    member: Member, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    """An extension of the contract: an owner deletes a shared workspace, with its links,
    domains, API keys, webhooks and members (409 for a personal workspace)."""
    workspace, role = member
    await deletion.delete_workspace(
        session, by=user, role=role, workspace=workspace, cache=runtime_of(request).link_cache
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/workspaces/{slug}/members", response_model=list[MemberPublic])
async def list_members(member: Member, session: SessionDep) -> list[MemberPublic]:
    return [
        _member(m, email) for m, email in await members.list_members(session, workspace=member[0])
    ]


def _member(m: Membership, email: str) -> MemberPublic:
    return MemberPublic(user_id=m.user_id, email=email, role=as_role(m.role), joined_at=m.joined_at)


@router.patch(
    "/api/workspaces/{slug}/members/{user_id}",
    response_model=MemberPublic,
    responses=errors(409, 422),
)
async def change_role(
    user_id: RowId, body: RoleChange, member: Member, user: CurrentUser, session: SessionDep
) -> MemberPublic:
    workspace, role = member
    changed, email = await members.change_role(
        session, by=user, by_role=role, workspace=workspace, user_id=user_id, role=body.role
    )
    return _member(changed, email)


@router.delete(
    "/api/workspaces/{slug}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(409),
)
async def remove_member(
    user_id: RowId, member: Member, user: CurrentUser, session: SessionDep
) -> Response:
    workspace, role = member
    await members.remove_member(
        session, by=user, by_role=role, workspace=workspace, user_id=user_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/workspaces/{slug}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationCreated,
    responses=errors(422),
)
async def invite(
    body: InvitationCreate, member: Member, user: CurrentUser, session: SessionDep, request: Request
) -> InvitationCreated:
    workspace, role = member
    runtime = runtime_of(request)
    invited = await send_invitation(
        session,
        settings=runtime.settings,
        mailer=runtime.mailer,
        by=user,
        by_role=role,
        workspace=workspace,
        role=body.role,
        email=body.email,
    )
    return InvitationCreated(
        token=invited.token,
        url=invited.url,
        role=body.role,
        expires_at=invited.invitation.expires_at,
    )


@router.get("/api/workspaces/{slug}/invitations", response_model=list[InvitationPublic])
async def list_invitations(
    member: Member, user: CurrentUser, session: SessionDep
) -> list[InvitationPublic]:
    """Invitations not yet accepted nor expired (owners and admins)."""
    workspace, role = member
    found = await members.list_invitations(session, by=user, by_role=role, workspace=workspace)
    return [
        InvitationPublic(
            id=invitation.id or 0,
            role=as_role(invitation.role),
            email=invitation.email,
            invited_by=invited_by,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )
        for invitation, invited_by in found
    ]


@router.delete(
    "/api/workspaces/{slug}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def revoke_invitation(
    invitation_id: RowId, member: Member, user: CurrentUser, session: SessionDep
) -> Response:
    """Its link opens nothing from now on (an accepted invitation is not found)."""
    workspace, role = member
    await members.revoke_invitation(
        session, by=user, by_role=role, workspace=workspace, invitation_id=invitation_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/invitations/{token}/accept", response_model=WorkspacePublic, responses=errors(409, 410)
)
async def accept_invitation(
    token: Annotated[str, Path(max_length=100)], user: CurrentUser, session: SessionDep
) -> WorkspacePublic:
    workspace, role = await members.accept(session, user=user, token=token)
    return _public(workspace, role)
