"""Administration of accounts: list, disable or enable, delete (with every link)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.audit.service import record
from shortener.cache import LinkCache
from shortener.db import after_commit
from shortener.errors import Conflict, NotFound
from shortener.keys import link_ident
from shortener.models import Link, User
from shortener.workspaces.deletion import hand_over, only_owner_of


async def list_users(
    session: AsyncSession, *, limit: int, offset: int, q: str | None = None
) -> tuple[list[tuple[User, int]], int]:
    """Users (oldest first) with how many links each has, and the total."""
    conditions = []
    if q:
        conditions.append(col(User.email).contains(q.strip().lower(), autoescape=True))
    total = (
        await session.execute(select(func.count()).select_from(User).where(*conditions))
    ).scalar_one()
    link_counts = (
        select(col(Link.owner_id), func.count().label("n")).group_by(col(Link.owner_id)).subquery()
    )
    rows = await session.execute(
        select(User, func.coalesce(link_counts.c.n, 0))
        .outerjoin(link_counts, link_counts.c.owner_id == col(User.id))
        .where(*conditions)
        .order_by(col(User.id))
        .limit(limit)
        .offset(offset)
    )
    return [(user, int(n)) for user, n in rows], int(total)


async def count_links(session: AsyncSession, user_id: int) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).select_from(Link).where(col(Link.owner_id) == user_id)
            )
        ).scalar_one()
    )


async def _get_other(session: AsyncSession, *, admin: User, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if user.id == admin.id:
        # Locking oneself out leaves no one able to undo it.
        raise Conflict("administrators cannot disable or delete their own account")
    return user


async def _keys_of(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.execute(
        select(col(Link.domain_id), col(Link.key)).where(col(Link.owner_id) == user_id)
    )
    return [link_ident(domain_id, key) for domain_id, key in rows]


def _invalidate_after_commit(session: AsyncSession, cache: LinkCache, keys: Sequence[str]) -> None:
    # One announcement per thousand links, each acknowledged by every worker: a user with
    # 100,000 links was 100,000 messages and acknowledgements.
    if keys:
        after_commit(session, partial(cache.invalidate_many, keys))


async def set_active(
    session: AsyncSession, *, admin: User, user_id: int, is_active: bool, cache: LinkCache
) -> User:
    """Disabling: links answer 410 (the cache folds the owner's state in), bearer tokens die
    (token_version), API keys stop (they check the owner on every use). Enabling undoes all
    but the tokens: the user signs in again."""
    user = await _get_other(session, admin=admin, user_id=user_id)
    if user.is_active != is_active:
        user.is_active = is_active
        if not is_active:
            user.token_version += 1
        session.add(user)
        await session.flush()
        _invalidate_after_commit(session, cache, await _keys_of(session, user_id))
        action = "user.enabled" if is_active else "user.disabled"
        await record(session, actor=admin, action=action, target=user.email)
    return user


async def delete_user(
    session: AsyncSession, *, admin: User, user_id: int, cache: LinkCache
) -> None:
    """The user, their personal workspace (its links with clicks and tags, domains, webhooks)
    and API keys go (FK cascades); what they made in shared workspaces stays there, passed to
    an owner (workspaces.deletion.hand_over). Refused while they are a shared workspace's only
    owner."""
    user = await _get_other(session, admin=admin, user_id=user_id)
    if orphaned := await only_owner_of(session, user_id):
        raise Conflict(
            f"{user.email} is the only owner of the workspace(s) {', '.join(orphaned[:20])}: "
            "make another member an owner, or delete the workspace, first"
        )
    await hand_over(session, user_id)
    keys = await _keys_of(session, user_id)
    await record(session, actor=admin, action="user.deleted", target=user.email)
    await session.delete(user)
    await session.flush()
    _invalidate_after_commit(session, cache, keys)
