"""The audit log: who did what, when, from where (roughly). No FastAPI here.

`record` is called by the service that makes a change, on the change's own session: the event
is part of that transaction, so a change that is rolled back (a 409, a 422 after a flush)
leaves no event, and every way in (the API, the dashboard, the compatibility APIs, the CLI)
is covered by the one call. The request's address reaches it through the session
(shortener.db.get_session puts it in `session.info`); the CLI's sessions have none.

Never recorded: passwords, tokens, API keys, TOTP secrets or codes (callers pass ids, names
and key prefixes only), nor a whole IP address: only its /24 (IPv4) or /48 (IPv6) prefix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.errors import ADMINS_ONLY, Forbidden, Invalid
from shortener.models import AuditEvent, User, Workspace, utcnow
from shortener.workspaces.acting import Acting

# Where shortener.db.get_session leaves the caller's address for `record`.
CLIENT_IP = "client_ip"
IPV4_PREFIX = 24
IPV6_PREFIX = 48
# What is recorded (the dashboard's filter offers these).
ACTIONS = (
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.sso",
    "auth.sso_failed",
    "auth.password_changed",
    "auth.password_reset",
    "auth.2fa_enabled",
    "auth.2fa_disabled",
    "session.revoked",
    "user.disabled",
    "user.enabled",
    "user.deleted",
    "apikey.created",
    "apikey.revoked",
    "link.created",
    "link.updated",
    "link.deleted",
    "links.bulk",
    "links.imported",
    "domain.created",
    "domain.verified",
    "domain.deleted",
    "export",
    "workspace.created",
    "workspace.updated",
    "invitation.created",
    "invitation.revoked",
    "member.joined",
    "member.role_changed",
    "member.removed",
)


def ip_prefix(ip: str | None) -> str | None:
    """The network an address belongs to, never the address: 203.0.113.7 -> 203.0.113.0/24,
    2001:db8:1:2::5 -> 2001:db8:1::/48. None for no address or an unreadable one."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


async def record(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    target: str | int | None = None,
    detail: dict[str, Any] | None = None,
    request_ip: str | None = None,
    workspace_id: int | None = None,
) -> None:
    """Add one event to the session's transaction (committed or rolled back with the change).
    `request_ip` defaults to the request's (none from the CLI); `workspace_id` is the
    workspace acted in, where there is one."""
    ip = request_ip if request_ip is not None else session.info.get(CLIENT_IP)
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id if actor is not None else None,
            actor=actor.email if actor is not None else None,
            action=action,
            target=None if target is None else str(target)[:300],
            detail=detail or None,
            ip_prefix=ip_prefix(ip),
            workspace_id=workspace_id,
        )
    )
    await session.flush()


async def record_acting(
    session: AsyncSession,
    acting: Acting,
    action: str,
    *,
    target: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """`record` for something done through a workspace: the actor and the workspace both come
    from `acting`, so no call site can leave the workspace out (its owners' log would miss
    the event, as it once missed revoked keys, bulk actions, imports and exports)."""
    await record(
        session,
        actor=acting.user,
        action=action,
        target=target,
        detail=detail,
        workspace_id=acting.workspace_id,
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    # The actor's e-mail address (as it was when they acted), exactly.
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # One workspace's events (its owners and admins); None: every event (site admins).
    workspace_id: int | None = None


def public_filter(
    reader: Acting,
    *,
    workspace_named: bool,
    action: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
) -> AuditFilter:
    """The filter the API and the page were given: times without a zone are UTC; an empty
    text is no filter; a window that ends before it starts is a 422.

    And whose events `reader` reads, one rule for both: a site administrator every event,
    unless a workspace was named (X-Workspace, a /w/{slug}/ page), then that one's; the owners
    and admins of a shared workspace its own (the role is the caller's dependency's to check);
    an account in its personal workspace none, as before workspaces (403)."""
    if reader.user.is_admin:
        workspace_id = reader.workspace_id if workspace_named else None
    elif reader.workspace.personal_user_id is not None:
        raise Forbidden(ADMINS_ONLY)
    else:
        workspace_id = reader.workspace_id
    since, until = (_utc(t) for t in (since, until))
    if since is not None and until is not None and until <= since:
        raise Invalid("`to` must be after `from`")
    return AuditFilter(
        action=(action or "").strip() or None,
        actor=(actor or "").strip() or None,
        since=since,
        until=until,
        workspace_id=workspace_id,
    )


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def list_events(
    session: AsyncSession, *, where: AuditFilter, limit: int, offset: int
) -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """The matching events, newest first, each with its workspace's slug (None: none, or a
    workspace since deleted), and how many match in all."""
    conditions = []
    if where.action:
        conditions.append(col(AuditEvent.action) == where.action)
    if where.actor:
        conditions.append(col(AuditEvent.actor) == where.actor.strip().lower())
    if where.since is not None:
        conditions.append(col(AuditEvent.at) >= where.since)
    if where.until is not None:
        conditions.append(col(AuditEvent.at) < where.until)
    if where.workspace_id is not None:
        conditions.append(col(AuditEvent.workspace_id) == where.workspace_id)
    total = (
        await session.execute(select(func.count()).select_from(AuditEvent).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(AuditEvent, col(Workspace.slug))
        .outerjoin(Workspace, col(Workspace.id) == col(AuditEvent.workspace_id))
        .where(*conditions)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.tuples()), int(total)


async def forget_old(session: AsyncSession, *, retention_days: int, now: datetime) -> int:
    """Delete the events older than AUDIT_RETENTION_DAYS; how many went."""
    cutoff = now - timedelta(days=retention_days)
    result = await session.execute(delete(AuditEvent).where(col(AuditEvent.at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
