"""Request ids and request logs, for FastAPI's stack and for the redirect shortcut.

- RequestLog, pure ASGI middleware around FastAPI's stack: an X-Request-ID on every response,
  one log line per request (method, path without the query string, status, duration, request
  id) and the API latency histogram, labelled by route template, never by raw path.
- RedirectObserver, in front of the Redirector (which runs ahead of that stack): the same
  header, and per-status counts in a plain dict that the metrics task reads every second.
  A redirect is logged only with LOG_REDIRECTS=true; otherwise it costs a header scan, an id
  and one wrapped `send`.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shortener.observability.logs import ACCESS_LOGGER
from shortener.observability.request_id import HEADER, RequestIds, current_request_id

log = logging.getLogger(ACCESS_LOGGER)

RedirectApp = Callable[[Scope, Receive, Send, str], Awaitable[None]]
# Called once per API request: (route template, method, status, seconds).
Observe = Callable[[str, str, int, float], None]

# Probes and scrapes come every few seconds and would drown the log: DEBUG only.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_MAX_PATH = 300
_UNSAFE = re.compile(r"[^\x21-\x7e]")


def log_request(
    scope: Scope, status: int, started: float, request_id: bytes, level: int = logging.INFO
) -> None:
    if not log.isEnabledFor(level):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    method = scope["method"]
    path = _loggable_path(scope)
    log.log(
        level,
        "%s %s %d %.1fms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id.decode("ascii"),
        },
    )


def _loggable_path(scope: Scope) -> str:
    """The path as sent (percent-encoded: no decoded newline can forge a log line), bounded,
    and never the query string, which may carry tokens."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    path = path.partition("?")[0][:_MAX_PATH]
    return _UNSAFE.sub(lambda m: "%%%02X" % (ord(m.group()) & 0xFF), path)


def route_of(scope: Scope) -> str:
    """The matched route's template (`/api/links/{key}`); one label for everything unmatched,
    so made-up paths cannot grow the metrics without bound."""
    route = scope.get("route")
    # path_format: the template without its convertors ({key:linkkey} reads {key}).
    path = getattr(route, "path_format", None)
    return path if isinstance(path, str) else "unmatched"


class RequestLog:
    def __init__(self, app: ASGIApp, ids: RequestIds, observe: Observe | None = None) -> None:
        self.app = app
        self.ids = ids
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self.ids.of(scope["headers"])
        header = (HEADER, request_id)
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
            quiet = scope["path"] in _QUIET_PATHS
            log_request(
                scope, status, started, request_id, logging.DEBUG if quiet else logging.INFO
            )
            if self.observe is not None:
                self.observe(
                    route_of(scope), scope["method"], status, time.perf_counter() - started
                )


class RedirectObserver:
    """Wraps the Redirector: request id, per-status counts, and the log line if asked for.

    `answer` is what the app calls for each redirect request.
    """

    def __init__(self, redirect: RedirectApp, ids: RequestIds, *, log_redirects: bool) -> None:
        self._redirect = redirect
        self._ids = ids
        # status -> responses; read (never reset) by the metrics task.
        self.statuses: defaultdict[int, int] = defaultdict(int)
        self.answer: RedirectApp = self._logged if log_redirects else self._answer

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, key: str, request_id: bytes = b""
    ) -> None:
        # No contextvar here (unlike RequestLog): its set and reset would be a tenth of what
        # this wrapper costs, for the rare error line the Redirector writes (it names the key).
        header = (HEADER, request_id or self._ids.of(scope["headers"]))
        statuses = self.statuses

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] += 1
                message["headers"] = [*message["headers"], header]
            await send(message)

        await self._redirect(scope, receive, send_with_id, key)

    async def _logged(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        started = time.perf_counter()
        request_id = self._ids.of(scope["headers"])
        status = 500

        async def remember(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self._answer(scope, receive, remember, key, request_id)
        finally:
            current_request_id.reset(token)
            log_request(scope, status, started, request_id)
