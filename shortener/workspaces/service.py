"""Workspaces: the personal one every account has, others people make, and who acts in which.

No FastAPI here. Members and invitations are in workspaces/members.py.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from shortener.models import Membership, User, Workspace
from shortener.workspaces.acting import Acting
from shortener.workspaces.roles import PERMISSIONS, Role, as_role, may
from shortener.workspaces.slugs import slug_base

NOT_FOUND = "workspace not found"
ACCOUNT_GONE = "this account has been deleted"
SLUG_ATTEMPTS = 5


async def create_personal(session: AsyncSession, *, user: User) -> Workspace:
    """`user`'s personal workspace, `user` its owner: made with every account (the one place
    that does it; the migration made them for accounts older than workspaces)."""
    base = slug_base(user.email)
    for _ in range(SLUG_ATTEMPTS):
        # The unique slug decides a race between two sign-ups of the same local part.
        slug = await _free_slug(session, base)
        workspace = Workspace(name=user.email, slug=slug, personal_user_id=user.id)
        try:
            async with session.begin_nested():
                session.add(workspace)
                await session.flush()
        except IntegrityError:
            continue
        session.add(Membership(workspace_id=workspace.id or 0, user_id=user.id or 0, role="owner"))
        await session.flush()
        return workspace
    raise Conflict("could not choose a workspace name for this account; try again")


async def _free_slug(session: AsyncSession, base: str) -> str:
    """`base`, or `base-<n>` with the smallest n not taken."""
    rows = await session.execute(
        select(col(Workspace.slug)).where(
            (col(Workspace.slug) == base) | col(Workspace.slug).like(f"{base}-%")
        )
    )
    taken = set(rows.scalars())
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


async def create_workspace(session: AsyncSession, *, user: User, name: str, slug: str) -> Workspace:
    workspace = Workspace(name=name, slug=slug)
    try:
        async with session.begin_nested():
            session.add(workspace)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"the slug '{slug}' is taken") from None
    session.add(Membership(workspace_id=workspace.id or 0, user_id=user.id or 0, role="owner"))
    await session.flush()
    await record(
        session,
        actor=user,
        action="workspace.created",
        target=slug,
        workspace_id=workspace.id,
    )
    return workspace


async def workspaces_of(session: AsyncSession, *, user: User) -> list[tuple[Workspace, Role]]:
    """The workspaces `user` is a member of, with their role: the personal one first."""
    rows = await session.execute(
        select(Workspace, col(Membership.role))
        .join(Membership, col(Membership.workspace_id) == col(Workspace.id))
        .where(col(Membership.user_id) == user.id)
        .order_by(col(Workspace.personal_user_id).is_(None), col(Workspace.id))
    )
    return [(workspace, as_role(role)) for workspace, role in rows.tuples()]


async def membership(
    session: AsyncSession, *, user: User, slug: str | None = None, workspace_id: int | None = None
) -> tuple[Workspace, Role]:
    """The workspace named by `slug` (or id; neither: `user`'s personal one) and `user`'s role
    there. Not a member: NotFound, as if it did not exist; except for a site admin, who keeps
    the reach they had before workspaces and acts as an owner."""
    if slug is not None:
        where = col(Workspace.slug) == slug
    elif workspace_id is not None:
        where = col(Workspace.id) == workspace_id
    else:
        where = col(Workspace.personal_user_id) == user.id
    row = (
        await session.execute(
            select(Workspace, col(Membership.role))
            .outerjoin(
                Membership,
                (col(Membership.workspace_id) == col(Workspace.id))
                & (col(Membership.user_id) == user.id),
            )
            .where(where)
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    workspace, role = row
    if role is None:
        if not user.is_admin:
            raise NotFound(NOT_FOUND)
        role = "owner"
    return workspace, as_role(role)


async def update_workspace(
    session: AsyncSession,
    *,
    user: User,
    role: Role,
    workspace: Workspace,
    name: str | None = None,
    require_two_factor: bool | None = None,
) -> Workspace:
    """An owner's change of the workspace's name or two-factor rule (an owner without
    two-factor sign-in may not switch off a rule that asks for it)."""
    check_two_factor(workspace, user)
    if not may(role, "owners:write"):
        raise Forbidden("only an owner may change the workspace's settings")
    await hold_workspace(session, workspace.id or 0)
    changed: list[str] = []
    if name is not None and name != workspace.name:
        workspace.name = name
        changed.append("name")
    if require_two_factor is not None and require_two_factor != workspace.require_two_factor:
        if require_two_factor and not user.totp_enabled:
            # Else the owner would lock themselves out of their own workspace.
            raise Invalid(
                "turn on two-factor sign-in for your own account first "
                "(POST /api/auth/2fa/setup), then require it of the members",
                field="require_two_factor",
            )
        workspace.require_two_factor = require_two_factor
        changed.append("require_two_factor")
    if changed:
        session.add(workspace)
        await session.flush()
        await record(
            session,
            actor=user,
            action="workspace.updated",
            target=workspace.slug,
            detail={"fields": changed, "require_two_factor": workspace.require_two_factor},
            workspace_id=workspace.id,
        )
    return workspace


def meets_two_factor(*, required: bool, enabled: bool) -> bool:
    """The workspace rule: a workspace that requires two-factor sign-in admits only users who
    have it on (the live feed asks this of plain columns; check_two_factor of models)."""
    return enabled or not required


def check_two_factor(workspace: Workspace, user: User) -> None:
    """Forbidden when `workspace` requires two-factor sign-in and `user` has it off."""
    if not meets_two_factor(required=workspace.require_two_factor, enabled=user.totp_enabled):
        raise Forbidden(
            f"the workspace '{workspace.slug}' requires two-factor sign-in: turn it on to act "
            "in it (the dashboard's Security page, or POST /api/auth/2fa/setup then /enable); "
            "until then you may see its members or leave it"
        )


async def lock_workspaces(
    session: AsyncSession, where: ColumnElement[bool], *, to_delete: bool = False
) -> None:
    """Take the row locks of the workspaces `where` picks, in id order (so that two callers
    locking several never deadlock), until the transaction ends. Who owns a workspace changes
    only under its lock (workspaces/members.py, an account's deletion): without it, two
    changes at once would each see another owner and leave none. `to_delete` takes the lock
    that also waits for the links being written there (see hold_workspace). SQLite
    serialises writers by itself (db.py: BEGIN IMMEDIATE)."""
    await session.execute(
        select(col(Workspace.id))
        .where(where)
        .order_by(col(Workspace.id))
        .with_for_update(key_share=not to_delete)  # else FOR NO KEY UPDATE
    )


async def hold_workspace(
    session: AsyncSession, workspace_id: int, *, writer: User | None = None
) -> None:
    """Keep the workspace (and the account of `writer`, whose rows name it as their maker)
    from being deleted until the transaction ends, before writing a row of it (a link, an API
    key, a webhook, a domain, an invitation) or the workspace itself; NotFound when the
    workspace is gone, Unauthorized when the account is. Their deletions (workspaces/
    deletion.py, admin/service.py) lock the workspace first, so they wait for those writers
    and see their rows, or the writers wait for them and find nothing: without this, a row
    written as its workspace or its maker was deleted broke its foreign key (a 500, or a
    link's "the alias is already taken") and a change of its settings matched no row."""
    held = await session.execute(
        select(col(Workspace.id))
        .where(col(Workspace.id) == workspace_id)
        .with_for_update(read=True, key_share=True)  # FOR KEY SHARE
    )
    if held.first() is None:
        raise NotFound(NOT_FOUND)
    if writer is None:
        return
    held = await session.execute(
        select(col(User.id))
        .where(col(User.id) == writer.id)
        .with_for_update(read=True, key_share=True)
    )
    if held.first() is None:
        raise Unauthorized(ACCOUNT_GONE)


async def count_owners(session: AsyncSession, workspace_id: int) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).where(
                    col(Membership.workspace_id) == workspace_id, col(Membership.role) == "owner"
                )
            )
        ).scalar_one()
    )


async def acting_as(session: AsyncSession, *, user: User, slug: str | None = None) -> Acting:
    """`user` acting with a bearer token's reach (every permission of their role) in the
    workspace `slug` (None: their personal one): the dashboard, the CLI."""
    acting = await member_as(session, user=user, slug=slug)
    check_two_factor(acting.workspace, user)
    return acting


async def member_as(session: AsyncSession, *, user: User, slug: str | None = None) -> Acting:
    """acting_as without the workspace's two-factor rule: for what a member without it may
    still do there (see the members and leave it); the members service checks the rest."""
    workspace, role = await membership(session, user=user, slug=slug)
    return Acting(user, workspace, role, PERMISSIONS[role])
