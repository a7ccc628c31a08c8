"""API keys: create, list, revoke, and recognise the one a request sends.

A key is 32 random bytes from `secrets` (256 bits). It is stored as its SHA-256, not with
argon2: a slow, salted hash protects low-entropy secrets (passwords) from guessing, but no one
can enumerate 2**256 keys, so a fast hash is as safe here and lets every request that sends a
key be checked with one indexed lookup instead of an argon2 verification per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from shortener.audit.service import record_acting
from shortener.errors import Forbidden, Invalid, NotFound, Unauthorized
from shortener.models import ApiKey, Membership, User, utcnow
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import hold_workspace

KEY_PREFIX = "sk_"
# What create_key makes (the prefix, then URL-safe base64); a JWT starts "eyJ", never this.
KEY_SHAPE = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]+")
# last_used_at is written at most this often per key, not once per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_KEYS_PER_USER = 100
KEY_NOT_FOUND = "API key not found"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(text: str) -> bool:
    """Whether `text` has an API key's shape (not whether it is a valid key)."""
    return KEY_SHAPE.fullmatch(text) is not None


def scopes_of(key: ApiKey) -> list[str]:
    return key.scopes.split()


async def create_key(
    session: AsyncSession, *, acting: Acting, name: str, scopes: list[str]
) -> tuple[ApiKey, str]:
    """The stored key and the key itself, which is never available again. A key belongs to
    the acting workspace and carries no scope its creator's role there lacks."""
    wider = [scope for scope in scopes if scope not in acting.permissions]
    if wider:
        raise Forbidden(
            f"your role in the workspace '{acting.workspace.slug}' is {acting.role}: an API "
            f"key you make there cannot carry {', '.join(wider)}"
        )
    await hold_workspace(session, acting.workspace_id, writer=acting.user)
    count = len(await list_keys(session, acting=acting))
    if count >= MAX_KEYS_PER_USER:
        raise Invalid(f"at most {MAX_KEYS_PER_USER} API keys per account; revoke some first")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey(
        user_id=acting.user.id or 0,
        workspace_id=acting.workspace_id,
        name=name,
        key_hash=hash_key(key),
        prefix=key[: len(KEY_PREFIX) + 6],
        scopes=" ".join(scopes),
    )
    session.add(api_key)
    await session.flush()
    # The name and scopes, never the key (nor its prefix).
    detail = {"name": name, "scopes": scopes}
    await record_acting(session, acting, "apikey.created", target=api_key.id, detail=detail)
    return api_key, key


async def list_keys(session: AsyncSession, *, acting: Acting) -> list[ApiKey]:
    rows = await session.execute(
        select(ApiKey)
        .where(
            col(ApiKey.user_id) == acting.user.id,
            col(ApiKey.workspace_id) == acting.workspace_id,
            col(ApiKey.revoked_at).is_(None),
        )
        .order_by(col(ApiKey.id))
    )
    return list(rows.scalars())


async def list_member_keys(session: AsyncSession, *, acting: Acting) -> list[tuple[ApiKey, str]]:
    """Every current member's keys in the acting workspace, not revoked, each with its
    creator's e-mail address: for its owners and admins, who can revoke them (a key of someone
    who left acts nowhere and is not listed)."""
    if not acting.may("members:write"):
        raise Forbidden(
            f"your role here is {acting.role}: only owners and admins see members' API keys"
        )
    rows = await session.execute(
        select(ApiKey, col(User.email))
        .join(User, col(User.id) == col(ApiKey.user_id))
        .join(
            Membership,
            (col(Membership.user_id) == col(ApiKey.user_id))
            & (col(Membership.workspace_id) == col(ApiKey.workspace_id)),
        )
        .where(
            col(ApiKey.workspace_id) == acting.workspace_id,
            col(ApiKey.revoked_at).is_(None),
        )
        .order_by(col(ApiKey.id))
    )
    return [(key, email) for key, email in rows.all()]


async def get_key(
    session: AsyncSession, *, acting: Acting, key_id: int, lock: bool = False
) -> ApiKey:
    """A key of the acting workspace, not revoked, that the caller may revoke: their own, or
    for its owners and admins a member's (an owner's only for an owner, as with the owners
    themselves). To anyone else, others' keys do not exist.

    `lock`: to revoke it, until the transaction ends. Two revocations at once both found it
    unrevoked, and both answered 204 and audited it; the second now finds it revoked (404)."""
    api_key = await session.get(ApiKey, key_id, with_for_update=lock, populate_existing=lock)
    if (
        api_key is None
        or api_key.workspace_id != acting.workspace_id
        or api_key.revoked_at is not None
    ):
        raise NotFound(KEY_NOT_FOUND)
    if api_key.user_id == acting.user.id:
        return api_key
    if not acting.may("members:write"):
        raise NotFound(KEY_NOT_FOUND)
    creator_role = await session.scalar(
        select(col(Membership.role)).where(
            col(Membership.user_id) == api_key.user_id,
            col(Membership.workspace_id) == api_key.workspace_id,
        )
    )
    if creator_role == "owner" and not acting.may("owners:write"):
        raise Forbidden("only an owner may revoke an owner's API key")
    return api_key


async def revoke_key(session: AsyncSession, *, acting: Acting, key_id: int) -> None:
    api_key = await get_key(session, acting=acting, key_id=key_id, lock=True)
    # Kept (revoked) rather than deleted, so the list of what existed stays auditable.
    api_key.revoked_at = utcnow()
    session.add(api_key)
    await session.flush()
    # Someone else's key: the event says whose (its creator's id; the address may change).
    detail = None if api_key.user_id == acting.user.id else {"created_by": api_key.user_id}
    await record_acting(session, acting, "apikey.revoked", target=key_id, detail=detail)


async def authenticate(session: AsyncSession, key: str) -> tuple[ApiKey, User]:
    """The key and its owner; Unauthorized for an unknown or revoked key or a disabled user."""
    row = (
        await session.execute(
            select(ApiKey, User)
            .join(User, col(User.id) == col(ApiKey.user_id))
            .where(col(ApiKey.key_hash) == hash_key(key))
        )
    ).first()
    if row is None:
        raise Unauthorized("invalid API key")
    api_key, user = row
    if api_key.revoked_at is not None:
        raise Unauthorized("this API key has been revoked")
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    await _touch(session, api_key, utcnow())
    return api_key, user


async def _touch(session: AsyncSession, api_key: ApiKey, now: datetime) -> None:
    last = api_key.last_used_at
    if last is not None and now - last < LAST_USED_RESOLUTION:
        return
    # The WHERE repeats the check so concurrent requests write once between them.
    await session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == api_key.id,
            or_(
                col(ApiKey.last_used_at).is_(None),
                col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    # Already written above: keep the ORM from writing it a second time.
    set_committed_value(api_key, "last_used_at", now)
