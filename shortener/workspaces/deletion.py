"""Deleting a shared workspace, and the rule that keeps every shared workspace an owner when
an administrator deletes an account. No FastAPI here."""

from __future__ import annotations

from functools import partial

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.cache import LinkCache
from shortener.db import after_commit
from shortener.domains.hosts import DOMAINS_CHANGED
from shortener.errors import Conflict, Forbidden
from shortener.keys import link_ident
from shortener.models import Domain, Link, Membership, User, Webhook, Workspace
from shortener.workspaces.roles import Role, may
from shortener.workspaces.service import check_two_factor, lock_workspaces

PERSONAL = "a personal workspace goes only with its account"


async def delete_workspace(
    session: AsyncSession, *, by: User, role: Role, workspace: Workspace, cache: LinkCache
) -> int:
    """An owner deletes a shared workspace: its links (with their clicks), domains, API keys,
    webhooks, members and invitations go with it (the foreign keys cascade), and every worker
    forgets its links and domains once this commits. Returns how many links went."""
    check_two_factor(workspace, by)
    if not may(role, "owners:write"):
        raise Forbidden(f"your role here is {role}: only an owner may delete the workspace")
    if workspace.personal_user_id is not None:
        raise Conflict(PERSONAL)
    # First: the links being created here are written before their keys are read (or find
    # the workspace gone), so that every worker forgets them too.
    await lock_workspaces(session, col(Workspace.id) == workspace.id, to_delete=True)
    rows = await session.execute(
        select(col(Link.domain_id), col(Link.key)).where(col(Link.workspace_id) == workspace.id)
    )
    idents = [link_ident(domain_id, key) for domain_id, key in rows]
    domains = (
        await session.execute(
            select(func.count()).select_from(Domain).where(col(Domain.workspace_id) == workspace.id)
        )
    ).scalar_one()
    await record(
        session,
        actor=by,
        action="workspace.deleted",
        target=workspace.slug,
        detail={"links": len(idents), "domains": int(domains)},
        workspace_id=workspace.id,
    )
    await session.delete(workspace)
    await session.flush()
    if idents:
        after_commit(session, partial(cache.invalidate_many, idents))
    if domains:
        after_commit(session, partial(cache.invalidate, DOMAINS_CHANGED))
    return len(idents)


async def only_owner_of(session: AsyncSession, user_id: int) -> list[str]:
    """The shared workspaces whose one owner is `user_id` (deleting the account would leave
    them without one), each of the account's workspaces locked until the transaction ends.

    Without the locks, the other owner leaving, being demoted or being deleted at the same
    moment saw `user_id` still an owner, as this saw them: both went, and the workspace was
    left with no owner (PostgreSQL; SQLite serialises writers by itself)."""
    # As for deleting a workspace (to_delete): links being created in them are written first,
    # and so handed over (hand_over), and the personal one is locked before the account's row
    # (a creator there holds the workspace, then the account: the other order deadlocked).
    await lock_workspaces(
        session,
        col(Workspace.id).in_(
            select(col(Membership.workspace_id)).where(col(Membership.user_id) == user_id)
        ),
        to_delete=True,
    )
    owners = (
        select(col(Membership.workspace_id))
        .where(col(Membership.role) == "owner")
        .group_by(col(Membership.workspace_id))
        .having(func.count() == 1)
        .subquery()
    )
    rows = await session.execute(
        select(col(Workspace.slug))
        .join(Membership, col(Membership.workspace_id) == col(Workspace.id))
        .where(
            col(Membership.user_id) == user_id,
            col(Membership.role) == "owner",
            col(Workspace.personal_user_id).is_(None),
            col(Workspace.id).in_(select(owners.c.workspace_id)),
        )
        .order_by(col(Workspace.slug))
    )
    return list(rows.scalars())


async def hand_over(session: AsyncSession, user_id: int) -> None:
    """The links and webhooks an account made in shared workspaces pass to an owner there
    (the longest-standing), so that deleting the account takes only its own workspace along:
    their creator's foreign key would otherwise delete them with it."""
    for model, creator in ((Link, "owner_id"), (Webhook, "user_id")):
        made_by, in_workspace = col(getattr(model, creator)), col(model.workspace_id)
        workspaces = (
            await session.execute(
                select(in_workspace)
                .join(Workspace, col(Workspace.id) == in_workspace)
                .where(made_by == user_id, col(Workspace.personal_user_id).is_(None))
                .distinct()
            )
        ).scalars()
        for workspace_id in list(workspaces):
            heir = (
                await session.execute(
                    select(col(Membership.user_id))
                    .where(
                        col(Membership.workspace_id) == workspace_id,
                        col(Membership.role) == "owner",
                        col(Membership.user_id) != user_id,
                    )
                    .order_by(col(Membership.joined_at), col(Membership.id))
                    .limit(1)
                )
            ).scalar_one()  # every shared workspace keeps an owner (only_owner_of first)
            await session.execute(
                update(model)
                .where(made_by == user_id, in_workspace == workspace_id)
                .values({creator: heir})
            )
