"""Webhook endpoints and their delivery log: register, list, delete, read, replay."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shortener.errors import Invalid, NotFound
from shortener.models import Webhook, WebhookDelivery, utcnow
from shortener.urls import URLRefused, canonical_host, parse_web_url
from shortener.webhooks.targets import TargetRefused, check_target
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import hold_workspace

MAX_WEBHOOKS_PER_USER = 20
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label on generated secrets, not one itself


def events_of(webhook: Webhook) -> list[str]:
    return webhook.events.split(",")


async def create_webhook(
    session: AsyncSession,
    *,
    acting: Acting,
    url: str,
    events: list[str],
    own_host: str,
    allow_private: bool,
) -> Webhook:
    try:
        target = parse_web_url(url.strip())
    except URLRefused as exc:
        raise Invalid(str(exc), field="url") from None
    # Not parse_target: a loopback receiver is a private address, which check_target refuses
    # unless ALLOW_PRIVATE_WEBHOOKS; only this service's own host is never a receiver.
    if own_host and target.host == canonical_host(own_host):
        raise Invalid("a webhook cannot call this service itself", field="url")
    if target.has_credentials:
        raise Invalid("credentials in a webhook URL are not supported", field="url")
    url = target.href  # stored as the parser reads it: the host checked is the host called
    try:
        await check_target(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise Invalid(str(exc), field="url") from None
    await hold_workspace(session, acting.workspace_id, writer=acting.user)
    count = (
        await session.execute(
            select(func.count())
            .select_from(Webhook)
            .where(col(Webhook.workspace_id) == acting.workspace_id)
        )
    ).scalar_one()
    if count >= MAX_WEBHOOKS_PER_USER:
        raise Invalid(f"at most {MAX_WEBHOOKS_PER_USER} webhooks per account")
    webhook = Webhook(
        user_id=acting.user.id or 0,
        workspace_id=acting.workspace_id,
        url=url,
        events=",".join(events),
        secret=SECRET_PREFIX + secrets.token_hex(24),
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def list_webhooks(session: AsyncSession, *, acting: Acting) -> list[Webhook]:
    rows = await session.execute(
        select(Webhook)
        .where(col(Webhook.workspace_id) == acting.workspace_id)
        .order_by(col(Webhook.id))
    )
    return list(rows.scalars())


async def get_webhook(session: AsyncSession, *, acting: Acting, webhook_id: int) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None or webhook.workspace_id != acting.workspace_id:
        raise NotFound("webhook not found")
    return webhook


async def delete_webhook(session: AsyncSession, *, acting: Acting, webhook_id: int) -> None:
    webhook = await get_webhook(session, acting=acting, webhook_id=webhook_id)
    await session.delete(webhook)
    await session.flush()


async def list_deliveries(
    session: AsyncSession, *, acting: Acting, webhook_id: int, limit: int, offset: int
) -> list[WebhookDelivery]:
    await get_webhook(session, acting=acting, webhook_id=webhook_id)
    rows = await session.execute(
        select(WebhookDelivery)
        .where(col(WebhookDelivery.webhook_id) == webhook_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars())


async def replay_delivery(
    session: AsyncSession, *, acting: Acting, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    """A new delivery of the same body, due now; the original stays in the log as it was."""
    await get_webhook(session, acting=acting, webhook_id=webhook_id)
    original = await session.get(WebhookDelivery, delivery_id)
    if original is None or original.webhook_id != webhook_id:
        raise NotFound("delivery not found")
    replay = WebhookDelivery(
        webhook_id=webhook_id,
        event=original.event,
        payload=original.payload,
        next_attempt_at=utcnow(),
    )
    session.add(replay)
    await session.flush()
    return replay
