"""Liveness and readiness."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shortener.clicks.durability import read_durability
from shortener.redisconn import REDIS_ERRORS
from shortener.runtime import runtime_of

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, response: Response) -> dict[str, str]:
    state = runtime_of(request)
    checks: dict[str, str] = {}
    checks["database"] = await _answers(state.engine)
    details: dict[str, str] = {}
    if state.separate_reads:
        # Reported, not a readiness check: without the replica redirects and link management
        # still work (statistics and exports answer 503), so the balancer keeps the host.
        details["read_database"] = await _answers(state.read_engine)
    if state.redis is not None:
        checks["redis"] = "ok" if await state.click_queue.ready() else "unavailable"
        if checks["redis"] == "ok":
            # Not a readiness check: a Redis without persistence serves, but says so here.
            with contextlib.suppress(*REDIS_ERRORS):
                details["click_durability"] = (await read_durability(state.redis)).summary
    ready = all(v == "ok" for v in checks.values())
    response.status_code = 200 if ready else 503
    return {"status": "ready" if ready else "not ready", **checks, **details}


async def _answers(engine: AsyncEngine) -> str:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"
