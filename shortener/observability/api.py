"""GET /metrics: Prometheus text, for `Authorization: Bearer $METRICS_TOKEN` only."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from shortener.errors import Forbidden, Unauthorized
from shortener.observability.metrics import Metrics
from shortener.openapi import errors
from shortener.runtime import runtime_of

router = APIRouter(tags=["operations"])


def check_bearer(authorization: str | None, token: str) -> None:
    """401 without a bearer credential, 403 with the wrong one (compared in constant time)."""
    scheme, _, given = (authorization or "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given or " " in given:
        raise Unauthorized("send Authorization: Bearer <METRICS_TOKEN>")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Forbidden("wrong metrics token")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "Metrics"},
        **errors(401, 403, 404),
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus text format. Answers 404 while METRICS_TOKEN is unset."""
    state = runtime_of(request)
    token = state.settings.metrics_token
    collected: Metrics | None = state.metrics
    if token is None or collected is None:
        raise HTTPException(404)  # as if there were no such route
    check_bearer(request.headers.get("authorization"), token.get_secret_value())
    await collected.sync()  # this worker's counts up to now; the others' are <= 1 s old
    body = await asyncio.to_thread(collected.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
