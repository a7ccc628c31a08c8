"""Members of a workspace: who they are, changing roles, leaving, and invitations by link.

No FastAPI here. The rules: admins manage members but not owners; only owners make, demote or
remove owners; anyone may leave; a workspace always keeps one owner (Conflict otherwise); in a
workspace that requires two-factor sign-in, managing it takes that too; an invitation admits
only while its maker may still invite as its role.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.errors import Conflict, Forbidden, Gone, NotFound
from shortener.models import Invitation, Membership, User, Workspace, utcnow
from shortener.workspaces.roles import Role, as_role, may
from shortener.workspaces.service import (
    check_two_factor,
    count_owners,
    hold_workspace,
    lock_workspaces,
    membership,
)

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_GONE = "this invitation has expired; ask for a new one"
LAST_OWNER = "a workspace keeps at least one owner: make another member an owner first"
MAKER_CANNOT = (
    "this invitation opens nothing any more: whoever made it may no longer invite as {role}; "
    "ask for a new one"
)


async def list_members(
    session: AsyncSession, *, workspace: Workspace
) -> list[tuple[Membership, str]]:
    """The members and their e-mail addresses, in the order they joined."""
    rows = await session.execute(
        select(Membership, col(User.email))
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Membership.workspace_id) == workspace.id)
        .order_by(col(Membership.joined_at), col(Membership.id))
    )
    return list(rows.tuples())


async def _member(session: AsyncSession, workspace: Workspace, user_id: int) -> Membership:
    found = (
        await session.execute(
            select(Membership).where(
                col(Membership.workspace_id) == workspace.id, col(Membership.user_id) == user_id
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("member not found")
    return found


async def _lock(session: AsyncSession, workspace: Workspace) -> None:
    await lock_workspaces(session, col(Workspace.id) == workspace.id)


def _check_may_manage(
    by: User, by_role: Role, workspace: Workspace, *, target_role: str, new_role: str | None = None
) -> None:
    """The one check of who may manage the members (and invitations) of `workspace`."""
    # First, as for every other route of the workspace (workspaces/deps.py): a password alone
    # must not manage a workspace that asks for more, nor invite whoever stole it.
    check_two_factor(workspace, by)
    if not may(by_role, "members:write"):
        raise Forbidden(f"your role here is {by_role}: only owners and admins manage members")
    if "owner" in (target_role, new_role) and not may(by_role, "owners:write"):
        raise Forbidden("only an owner may make, demote or remove an owner")


async def change_role(
    session: AsyncSession,
    *,
    by: User,
    by_role: Role,
    workspace: Workspace,
    user_id: int,
    role: Role,
) -> tuple[Membership, str]:
    await _lock(session, workspace)
    member = await _member(session, workspace, user_id)
    _check_may_manage(by, by_role, workspace, target_role=member.role, new_role=role)
    if (
        member.role == "owner"
        and role != "owner"
        and await count_owners(session, workspace.id or 0) <= 1
    ):
        raise Conflict(LAST_OWNER)
    before = member.role
    member.role = role
    session.add(member)
    await session.flush()
    if before != role:
        await record(
            session,
            actor=by,
            action="member.role_changed",
            target=user_id,
            detail={"from": before, "to": role},
            workspace_id=workspace.id,
        )
    email = (await session.get(User, user_id)).email  # type: ignore[union-attr]
    return member, email


async def remove_member(
    session: AsyncSession, *, by: User, by_role: Role, workspace: Workspace, user_id: int
) -> None:
    """Remove a member, or (`user_id` the caller's own) leave."""
    await _lock(session, workspace)
    member = await _member(session, workspace, user_id)
    if user_id != by.id:
        _check_may_manage(by, by_role, workspace, target_role=member.role)
    if member.role == "owner" and await count_owners(session, workspace.id or 0) <= 1:
        raise Conflict(LAST_OWNER)
    await session.delete(member)
    await session.flush()
    await record(
        session,
        actor=by,
        action="member.removed",
        target=user_id,
        detail={"role": member.role, "left": user_id == by.id},
        workspace_id=workspace.id,
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invite(
    session: AsyncSession,
    *,
    by: User,
    by_role: Role,
    workspace: Workspace,
    role: Role,
    email: str | None,
) -> tuple[Invitation, str]:
    """A new invitation and its token (kept only as a hash: shown this once)."""
    _check_may_manage(by, by_role, workspace, target_role=role)
    await hold_workspace(session, workspace.id or 0, writer=by)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        workspace_id=workspace.id or 0,
        token_hash=_hash(token),
        role=role,
        email=email,
        created_by=by.id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    session.add(invitation)
    await session.flush()
    await record(
        session,
        actor=by,
        action="invitation.created",
        target=invitation.id,
        detail={"role": role, "mailed": email is not None},
        workspace_id=workspace.id,
    )
    return invitation, token


async def list_invitations(
    session: AsyncSession,
    *,
    by: User,
    by_role: Role,
    workspace: Workspace,
    now: datetime | None = None,
) -> list[tuple[Invitation, str | None]]:
    """The invitations neither accepted nor expired, newest first, each with its maker's
    e-mail address (None once that account is gone; its link then opens nothing, see
    _check_maker, until revoked)."""
    _check_may_manage(by, by_role, workspace, target_role="")
    rows = await session.execute(
        select(Invitation, col(User.email))
        .outerjoin(User, col(User.id) == col(Invitation.created_by))
        .where(
            col(Invitation.workspace_id) == workspace.id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.expires_at) > (now or utcnow()),
        )
        .order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc())
    )
    return list(rows.tuples())


async def revoke_invitation(
    session: AsyncSession, *, by: User, by_role: Role, workspace: Workspace, invitation_id: int
) -> None:
    """Delete an invitation that has not been accepted, so its link opens nothing. An
    accepted one stays (it is the record of who let a member in): NotFound, as for another
    workspace's. Managing an owner's invitation takes an owner, as making one does."""
    # First: a viewer learns nothing of ids.
    _check_may_manage(by, by_role, workspace, target_role="")
    # Locked, as accepting locks it: a revocation racing an acceptance either comes first
    # (the link then opens nothing) or finds the invitation accepted (404), never both.
    invitation = (
        await session.execute(
            select(Invitation)
            .where(
                col(Invitation.id) == invitation_id,
                col(Invitation.workspace_id) == workspace.id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound("invitation not found (it may have been accepted already)")
    _check_may_manage(by, by_role, workspace, target_role=invitation.role)
    await session.delete(invitation)
    await record(
        session,
        actor=by,
        action="invitation.revoked",
        target=invitation_id,
        detail={"role": invitation.role},
        workspace_id=workspace.id,
    )


async def pending(
    session: AsyncSession,
    *,
    token: str,
    now: datetime | None = None,
    lock: bool = False,
    joining: User | None = None,
) -> tuple[Invitation, Workspace]:
    """The invitation `token` opens and its workspace; NotFound for an unknown or used token,
    or one its maker may no longer make (see _check_maker), Gone once it expired. `lock`: to
    accept it, as `joining`."""
    query = select(Invitation).where(col(Invitation.token_hash) == _hash(token))
    if lock:
        await _hold_workspace_of(session, token, joining)
    invitation = (
        await session.execute(query.with_for_update() if lock else query)
    ).scalar_one_or_none()
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound("invitation not found (it may have been used already)")
    if invitation.expires_at <= (now or utcnow()):
        raise Gone(INVITATION_GONE)
    workspace = await session.get(Workspace, invitation.workspace_id)
    if workspace is None:  # pragma: no cover - the invitation goes with its workspace
        raise NotFound("invitation not found")
    await _check_maker(session, invitation, workspace)
    return invitation, workspace


async def _hold_workspace_of(session: AsyncSession, token: str, joining: User | None) -> None:
    """Hold the workspace of the invitation `token` opens (and the account `joining` it)
    before locking the invitation, as every writer of a workspace's rows holds it first: its
    deletion locks the workspace, then deletes its invitations, and the other order
    deadlocked (a 500 on either side). A workspace gone meanwhile took the invitation along:
    the look-up after this finds none. An account gone meanwhile: 401 (its membership would
    break its foreign key, which read as "you are already a member")."""
    workspace_id = (
        await session.execute(
            select(col(Invitation.workspace_id)).where(col(Invitation.token_hash) == _hash(token))
        )
    ).scalar_one_or_none()
    if workspace_id is not None:
        with contextlib.suppress(NotFound):
            await hold_workspace(session, workspace_id, writer=joining)


async def _check_maker(session: AsyncSession, invitation: Invitation, workspace: Workspace) -> None:
    """An invitation admits with its maker's say-so, as an API key acts with its creator's
    role: checked again when it is used, by the rule that let them make it. A maker since
    removed, demoted below its role, disabled or deleted would otherwise keep a way back in
    (a removed admin accepting their own link from a second account)."""
    refused = NotFound(MAKER_CANNOT.format(role=invitation.role))
    maker = await session.get(User, invitation.created_by) if invitation.created_by else None
    if maker is None or not maker.is_active:
        raise refused
    try:
        _, role = await membership(session, user=maker, workspace_id=workspace.id)
        _check_may_manage(maker, role, workspace, target_role=invitation.role)
    except (NotFound, Forbidden):
        raise refused from None


async def accept(
    session: AsyncSession, *, user: User, token: str, now: datetime | None = None
) -> tuple[Workspace, Role]:
    """Join the invitation's workspace (see `pending` for a token that opens none); Conflict
    for a member already (the invitation stays unused)."""
    invitation, workspace = await pending(session, token=token, now=now, lock=True, joining=user)
    member = Membership(
        workspace_id=invitation.workspace_id, user_id=user.id or 0, role=invitation.role
    )
    try:
        async with session.begin_nested():
            session.add(member)
            await session.flush()
    except IntegrityError:
        raise Conflict("you are already a member of this workspace") from None
    invitation.accepted_at = utcnow()
    invitation.accepted_by = user.id
    session.add(invitation)
    await session.flush()
    await record(
        session,
        actor=user,
        action="member.joined",
        target=user.id,
        detail={"role": invitation.role, "invitation": invitation.id},
        workspace_id=workspace.id,
    )
    return workspace, as_role(invitation.role)
