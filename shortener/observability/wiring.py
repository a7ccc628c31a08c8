"""What create_app and its lifespan call: request ids and logs, the metrics and their task."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI

from shortener.aio import cancel_and_wait
from shortener.config import Settings
from shortener.observability.access import RequestLog
from shortener.observability.api import router
from shortener.observability.metrics import Metrics
from shortener.observability.request_id import RequestIds


def install(app: FastAPI) -> RequestIds:
    """Add the request log (outermost: call it after every other add_middleware) and the
    /metrics route; returns the request ids, for the redirect path's RedirectObserver."""
    state = app.state
    state.metrics = None  # made by start() when METRICS_TOKEN is set
    ids = RequestIds()

    def observe(route: str, method: str, status: int, seconds: float) -> None:
        metrics: Metrics | None = state.metrics
        if metrics is not None:
            metrics.observe_http(route, method, status, seconds)

    app.include_router(router)
    app.add_middleware(RequestLog, ids=ids, observe=observe)
    return ids


def start(state: Any, settings: Settings) -> asyncio.Task[None] | None:
    """In the lifespan, once the engine, cache, queue, recorder and flusher exist."""
    # However the server was started, uvicorn's access log stays silent: it prints client
    # addresses (`shortener serve` turns it off; a bare `uvicorn shortener.main:app` would not).
    logging.getLogger("uvicorn.access").disabled = True
    if settings.metrics_token is None:
        return None
    metrics = Metrics(
        statuses=state.redirect_observer.statuses,
        cache=state.link_cache,
        recorder=state.click_recorder,
        queue=state.click_queue,
        flusher=state.flusher,
        breaker=state.redis_breaker,
    )
    metrics.watch_engine(state.engine.sync_engine, "app")
    state.click_writer.watch_engine(lambda engine: metrics.watch_engine(engine, "click_writer"))
    state.flusher.on_batch = metrics.observe_batch
    state.metrics = metrics
    return asyncio.create_task(metrics.run(), name="metrics-sync")


async def stop(state: Any, task: asyncio.Task[None] | None) -> None:
    if task is not None:
        await cancel_and_wait(task)
    if state.metrics is not None:
        state.metrics.close()
