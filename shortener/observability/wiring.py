"""What create_app calls: request ids, the request log and /metrics (the metrics themselves are
made by the Runtime when METRICS_TOKEN is set)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from shortener.observability.access import RequestLog
from shortener.observability.api import router
from shortener.observability.request_id import RequestIds
from shortener.runtime import Runtime


def install(app: FastAPI) -> RequestIds:
    """Add the request log (outermost: call it after every other add_middleware) and the
    /metrics route; returns the request ids, for the redirect path's RedirectObserver."""
    ids = RequestIds()

    def observe(route: str, method: str, status: int, seconds: float) -> None:
        runtime: Runtime | None = getattr(app, "runtime", None)
        if runtime is not None and runtime.metrics is not None:
            runtime.metrics.observe_http(route, method, status, seconds)

    # However the server was started, uvicorn's access log stays silent: it prints client
    # addresses (`shortener serve` turns it off; a bare `uvicorn shortener.main:app` would not).
    logging.getLogger("uvicorn.access").disabled = True
    app.include_router(router)
    app.add_middleware(RequestLog, ids=ids, observe=observe)
    return ids
