"""The webhooks API, of the acting workspace (editors and up). API keys need links:write to
change endpoints and links:read to read them; an endpoint for link.clicked also needs
stats:read, since it reports clicks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from shortener.db import SessionDep, after_commit
from shortener.errors import Forbidden
from shortener.fields import Offset, RowId
from shortener.models import Webhook, WebhookDelivery
from shortener.openapi import errors
from shortener.runtime import runtime_of
from shortener.webhooks import service
from shortener.webhooks.schemas import (
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
)
from shortener.workspaces.acting import Acting
from shortener.workspaces.deps import acts

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], responses=errors(401, 403, 404))

Reader = Annotated[Acting, Depends(acts("webhooks:read"))]
Writer = Annotated[Acting, Depends(acts("webhooks:write"))]


def _public(webhook: Webhook) -> WebhookPublic:
    return WebhookPublic(
        id=webhook.id or 0,
        url=webhook.url,
        events=service.events_of(webhook),
        created_at=webhook.created_at,
    )


def _delivery(d: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(d, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(
    body: WebhookCreate, principal: Writer, session: SessionDep, request: Request
) -> WebhookCreated:
    if "link.clicked" in body.events and not principal.may("stats:read"):
        raise Forbidden("link.clicked reports clicks: this API key lacks the 'stats:read' scope")
    settings = runtime_of(request).settings
    webhook = await service.create_webhook(
        session,
        acting=principal,
        url=body.url,
        events=list(body.events),
        own_host=settings.base_host,
        allow_private=settings.allow_private_webhooks,
    )
    return WebhookCreated(**_public(webhook).model_dump(), secret=webhook.secret)


@router.get("", response_model=list[WebhookPublic])
async def list_webhooks(principal: Reader, session: SessionDep) -> list[WebhookPublic]:
    return [_public(w) for w in await service.list_webhooks(session, acting=principal)]


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: RowId, principal: Writer, session: SessionDep) -> Response:
    await service.delete_webhook(session, acting=principal, webhook_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryPublic])
async def list_deliveries(
    webhook_id: RowId,
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[DeliveryPublic]:
    """Newest first."""
    deliveries = await service.list_deliveries(
        session, acting=principal, webhook_id=webhook_id, limit=limit, offset=offset
    )
    return [_delivery(d) for d in deliveries]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryPublic,
)
async def replay_delivery(
    webhook_id: RowId, delivery_id: RowId, principal: Writer, session: SessionDep, request: Request
) -> DeliveryPublic:
    """Send a delivery's body again, as a new delivery (signed afresh)."""
    replay = await service.replay_delivery(
        session, acting=principal, webhook_id=webhook_id, delivery_id=delivery_id
    )
    dispatcher = runtime_of(request).webhooks

    async def wake() -> None:
        dispatcher.wake()

    after_commit(session, wake)
    return _delivery(replay)
