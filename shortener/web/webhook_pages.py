"""/dashboard/webhooks: endpoints (list, create, delete) and each one's delivery log (replay).

Thin routes over webhooks.service. Like an API key, the signing secret is shown once: the
creating POST redirects to the list, the secret carried there sealed in the flash cookie and
shown to its maker only (web/session.py), so a reload of the list makes no second endpoint.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.responses import Response

from shortener.db import SessionDep, after_commit
from shortener.errors import Invalid
from shortener.fields import RowId
from shortener.runtime import runtime_of
from shortener.web.csrf import check_csrf
from shortener.web.forms import form_errors, text_and_choices
from shortener.web.pages import redirect, render
from shortener.web.session import PageHooksReader, PageHooksWriter
from shortener.webhooks import service
from shortener.webhooks.schemas import EVENTS, WebhookCreate
from shortener.workspaces.acting import Acting

router = APIRouter(prefix="/dashboard/webhooks", include_in_schema=False)
Csrf = Depends(check_csrf)
HOOK_FIELDS = ("url", "events")
LOG_SIZE = 50


async def _context(session: SessionDep, acting: Acting) -> dict[str, Any]:
    hooks = await service.list_webhooks(session, acting=acting)
    return {
        "hooks": [(hook, service.events_of(hook)) for hook in hooks],
        "all_events": EVENTS,
        "values": {"url": "", "events": []},
    }


@router.get("")
async def webhooks_page(request: Request, acting: PageHooksReader, session: SessionDep) -> Response:
    return render(request, "webhooks.html", await _context(session, acting), user=acting.user)


@router.post("", dependencies=[Csrf])
async def create_webhook(
    request: Request, acting: PageHooksWriter, session: SessionDep
) -> Response:
    user = acting.user
    values = text_and_choices(await request.form(), "url", "events")
    settings = runtime_of(request).settings
    try:
        body = WebhookCreate.model_validate(values)
        hook = await service.create_webhook(
            session,
            acting=acting,
            url=body.url,
            events=list(body.events),
            own_host=settings.base_host,
            allow_private=settings.allow_private_webhooks,
        )
    except (ValidationError, Invalid) as exc:
        errors = form_errors(exc, HOOK_FIELDS)
        context = await _context(session, acting) | {"errors": errors, "values": values}
        return render(request, "webhooks.html", context, user=user, status=422)
    shown = {"what": "webhook", "url": hook.url, "secret": hook.secret}
    return redirect(request, "/dashboard/webhooks", "Endpoint added.", shown=shown, to=user)


@router.get("/{hook_id}")
async def webhook_page(
    request: Request, hook_id: RowId, acting: PageHooksReader, session: SessionDep
) -> Response:
    user = acting.user
    hook = await service.get_webhook(session, acting=acting, webhook_id=hook_id)
    deliveries = await service.list_deliveries(
        session, acting=acting, webhook_id=hook_id, limit=LOG_SIZE, offset=0
    )
    context = {"hook": hook, "events": service.events_of(hook), "deliveries": deliveries}
    return render(request, "webhook.html", context, user=user)


@router.post("/{hook_id}/delete", dependencies=[Csrf])
async def delete_webhook(
    request: Request, hook_id: RowId, acting: PageHooksWriter, session: SessionDep
) -> Response:
    await service.delete_webhook(session, acting=acting, webhook_id=hook_id)
    return redirect(request, "/dashboard/webhooks", "The webhook endpoint is deleted.")


@router.post("/{hook_id}/deliveries/{delivery_id}/replay", dependencies=[Csrf])
async def replay_delivery(
    request: Request,
    hook_id: RowId,
    delivery_id: RowId,
    acting: PageHooksWriter,
    session: SessionDep,
) -> Response:
    await service.replay_delivery(
        session, acting=acting, webhook_id=hook_id, delivery_id=delivery_id
    )
    dispatcher = runtime_of(request).webhooks

    async def wake() -> None:
        # After the commit, so the dispatcher finds the new delivery when it looks.
        dispatcher.wake()

    after_commit(session, wake)
    return redirect(request, f"/dashboard/webhooks/{hook_id}", "The delivery is queued again.")
