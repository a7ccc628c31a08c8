"""GET /dashboard/links/{key}/live[?domain=]: the link's live feed as Server-Sent Events.

Signed in with the dashboard cookie; only the link's owner (or an admin) may follow it, and
others get the 404 the link page gives them. The database session is closed before the stream
starts (SessionDep commits when the route returns), so an open tab holds no connection.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response, StreamingResponse

from shortener.db import SessionDep
from shortener.domains import service as domains
from shortener.errors import Unauthorized
from shortener.links import service
from shortener.links.deps import LinkContextDep
from shortener.links.keypath import KEY
from shortener.live.broker import LiveBroker, sse_frame
from shortener.live.feed import Viewer, event_payload, link_total, may_watch
from shortener.runtime import runtime_of
from shortener.web.session import MaybeSignIn
from shortener.workspaces import service as workspaces
from shortener.workspaces.paths import workspace_slug

router = APIRouter(prefix="/dashboard", include_in_schema=False)

# How long a browser waits before reconnecting a dropped stream (EventSource's `retry:`):
# soon enough to miss little, slow enough that a restarting server is not hammered.
RETRY_MS = 3000
KEEPALIVE = b": keep-alive\n\n"


# Keys may have `/` in them (KEY). Included before the dashboard's link pages, whose
# /dashboard/links/{key} would otherwise take "abc/live" for a key.
@router.get(f"/links/{KEY}/live")
async def live_feed(
    request: Request,
    key: str,
    current: MaybeSignIn,
    session: SessionDep,
    ctx: LinkContextDep,
    domain: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    if current is None:
        # Not a redirect to /login: EventSource would follow it and retry an HTML page forever.
        raise Unauthorized("sign in to follow this link live")
    # The workspace of the link page that opened the feed (/w/{slug}/dashboard/...).
    acting = await workspaces.acting_as(session, user=current.user, slug=workspace_slug(request))
    if not acting.may("stats:read"):
        raise acting.refusal("stats:read")
    domain_id = await domains.domain_id_of(session, acting=acting, hostname=domain, ctx=ctx)
    link = await service.get_link(session, acting=acting, key=ctx.key(key), domain_id=domain_id)
    state = runtime_of(request)
    viewer = Viewer(link.id or 0, key, current.user.id or 0, current.session.id or 0)
    return StreamingResponse(
        stream(state.live, state.sessionmaker, viewer),
        media_type="text/event-stream",
        # X-Accel-Buffering: nginx passes each event on at once even where the operator left
        # proxy_buffering on (docs/deploy.md turns it off for this path anyway).
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def stream(
    broker: LiveBroker, sessionmaker: async_sessionmaker[AsyncSession], viewer: Viewer
) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    async with broker.subscription(viewer.link_id, viewer.key) as sub:
        # Read only once subscribed: every batch committed after this read reaches us, and the
        # page (rendered earlier) is brought up to date at once.
        total = await link_total(sessionmaker, viewer.link_id)
        if total is None:
            return
        yield sse_frame(event_payload(total=total))
        next_check = time.monotonic() + broker.keepalive
        while True:
            frames = await sub.wait(broker.keepalive)
            # The permission was checked once, when the stream opened: check it again when the
            # link changes (told at once) and now and then (a revoked session, a disabled
            # user), and end the stream, before sending anything, once it no longer holds.
            if sub.recheck or time.monotonic() >= next_check:
                sub.recheck = False
                next_check = time.monotonic() + broker.keepalive
                if not await may_watch(sessionmaker, viewer):
                    return
            if frames:
                yield b"".join(frames)
            elif sub.closed:
                return
            else:
                yield KEEPALIVE
