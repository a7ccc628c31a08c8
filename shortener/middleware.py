"""Pure ASGI middleware around the app's routes (the redirect path runs ahead of it and adds
the same security headers itself, see shortener/redirect/).

- SecurityHeaders: a fixed header list appended to every response start (no per-request work
  beyond one pass over the response's own headers, so a route can still set its own);
- InternalErrors: an unexpected exception becomes `{"detail": "internal error"}` (500), logged
  with its traceback here and never shown to the client; the database being unreachable is
  a 503 with Retry-After instead (nothing is wrong with the request; it can be retried), and a
  value the database cannot store (PostgreSQL's data exceptions, SQLSTATE class 22: a NUL
  character, an out-of-range number) a 422, since it came from the request;
- BodySizeLimit: a request body over the limit answers 413, judged by Content-Length up front
  or by counting the bytes as they stream in, never by reading it whole first.
"""

from __future__ import annotations

import logging

import orjson
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shortener.db import is_transient
from shortener.redirect.answers import wants_html
from shortener.redirect.headers import SECURITY_HEADERS

log = logging.getLogger(__name__)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...] = SECURITY_HEADERS):
        self.app = app
        self.headers = headers
        self.names = frozenset(name for name, _ in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = self.names
                own = {name.lower() for name, _ in headers if name.lower() in names}
                if own:
                    headers.extend(h for h in self.headers if h[0] not in own)
                else:
                    headers.extend(self.headers)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InternalErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def track(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, track)
        except Exception as exc:
            if started:
                log.exception("error after the response started on %s", scope.get("path"))
                return  # too late to answer; the server closes the connection
            status, body, extra = failure_answer(exc, scope)
            headers = [(b"content-type", b"application/json"), *extra]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def failure_answer(exc: Exception, scope: Scope) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The JSON answer to an exception nothing else handled, logged: 422 for a value the
    database cannot store, 503 + Retry-After while the database is away, else 500. The app's
    middleware and the redirect path (which runs ahead of it) both answer this way."""
    if _is_data_error(exc):
        log.warning("refused a value the database cannot store: %s", exc)
        return 422, _DATA_ERROR, []
    if is_transient(exc):
        log.error("database unavailable on %s: %s", scope.get("path"), exc)
        return 503, b'{"detail":"service unavailable; try again shortly"}', [(b"retry-after", b"5")]
    log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
    return 500, b'{"detail":"internal error"}', []


# In the shape of every other 422 (FastAPI's validation errors), as the OpenAPI document says.
_DATA_ERROR = orjson.dumps(
    {
        "detail": [
            {
                "loc": ["request"],
                "msg": "holds a value that cannot be stored (a NUL character, or a number "
                "out of range)",
                "type": "value_error",
            }
        ]
    }
)


def _is_data_error(exc: Exception) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("22")


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit. An HTTPException, so FastAPI's
    body parsing lets it through to the one error mapping instead of calling it a bad body."""

    def __init__(self, limit: int, detail: str | None = None) -> None:
        super().__init__(413, detail or f"request body too large: the limit is {limit} bytes")


def size_text(size: int) -> str:
    """A size for people: "50 MB", "1.5 MB", "4 KB" (of 2**20 and 2**10 bytes), as the
    dashboard's script writes it too."""
    if size >= 2**20:
        return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"
    return f"{round(size / 2**10)} KB"


def import_too_large(limit: int) -> str:
    """What an import over IMPORT_MAX_BYTES is told: the limit, and the ways round it."""
    return (
        f"the file is larger than the import limit of {size_text(limit)} (IMPORT_MAX_BYTES): "
        "split it into smaller files, ask the operator to raise IMPORT_MAX_BYTES, or import it "
        "on the server with `shortener import FILE.csv` (no limit)"
    )


_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def route_path(scope: Scope) -> str:
    """The path the app's routes match: without the root path a proxy's prefix, or a
    workspace's /w/{slug} (workspaces/paths.py), put there; the ASGI path keeps it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class BodySizeLimit:
    """`limits` gives some paths (the imports) a limit of their own, with their own message."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, limits: dict[str, tuple[int, str]] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Nothing reads the body of a GET, HEAD, OPTIONS or DELETE: nothing to guard, and the
        # redirect path (GET) pays nothing.
        if scope["type"] != "http" or scope["method"] in _BODILESS:
            await self.app(scope, receive, send)
            return
        max_bytes, detail = self.limits.get(route_path(scope), (self.max_bytes, None))
        too_large = BodyTooLarge(max_bytes, detail)
        refuse_at_once = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._answer(send, 400, "Content-Length is not a number")
                    return
                if declared > max_bytes:
                    if not wants_html(scope):
                        await self._answer(send, 413, too_large.detail)
                        return
                    # A browser's form post (a dashboard page without its script): refused at
                    # the route's first read, so that its error page says why, in HTML.
                    refuse_at_once = True
                break
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            if refuse_at_once:
                raise too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise too_large
            return message

        async def track(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, track)
        except BodyTooLarge as exc:
            # Reached us raw (read outside FastAPI's routing, e.g. by the redirect shortcut).
            if not started:
                await self._answer(send, 413, exc.detail)

    @staticmethod
    async def _answer(send: Send, status: int, detail: str) -> None:
        body = orjson.dumps({"detail": detail})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
