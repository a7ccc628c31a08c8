"""The hot path: `GET`/`HEAD /{key}` (and `POST /{key}` for password links) as pure ASGI.

It sits in front of FastAPI's router: a request for one path segment that could be a key and
is not a reserved word never reaches FastAPI. The click is queued after the response is sent.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from sqlalchemy import select, update
from sqlmodel import col
from starlette.types import ASGIApp, Receive, Scope, Send

from shortener.auth.passwords import verify_password
from shortener.cache import CachedLink
from shortener.errors import TooManyRequests
from shortener.keys import RESERVED, looks_like_key
from shortener.models import Link

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 4096
_NO_STORE = (b"cache-control", b"private, max-age=0")
_PERMANENT = frozenset({301, 308})


class RedirectShortcut:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            key = path[1:]
            if (
                scope["method"] in ("GET", "HEAD", "POST")
                and "/" not in key
                and looks_like_key(key)
                and key.lower() not in RESERVED
            ):
                await self.redirect(scope, receive, send, key)
                return
        await self.app(scope, receive, send)

    async def redirect(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        state = self.state
        link = await state.link_cache.get(key)
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if link is None:
            await self._problem(send, scope, 404, "No short link has this key.")
            return
        if not link.is_active or (link.expires_at is not None and time.time() >= link.expires_at):
            await self._problem(send, scope, 410, "This short link is no longer active.")
            return
        if link.has_password:
            if scope["method"] != "POST":
                await self._password_form(send, scope, key, error=None, status=200)
                return
            # Guesses are counted per IP and link; a right password gives its attempt back.
            guesser = f"{_client_ip(scope)}|{key}"
            try:
                await state.rate_limiter.hit("link_password", guesser)
            except TooManyRequests as exc:
                await self._too_many(send, scope, exc)
                return
            password = await _read_password(receive)
            if not await self._password_ok(link, password):
                await self._password_form(send, scope, key, error="Wrong password.", status=403)
                return
            await state.rate_limiter.refund("link_password", guesser)
        elif scope["method"] == "POST":
            await self._send(send, 405, b'{"detail":"method not allowed"}', b"application/json")
            return
        if link.max_clicks is not None and not await self._consume_use(link):
            await self._problem(send, scope, 410, "This short link has reached its click limit.")
            return
        response_headers = [(b"location", link.location.encode("latin-1")), _CONTENT_LENGTH_0]
        if link.redirect_type not in _PERMANENT:
            response_headers.append(_NO_STORE)
        await send(
            {
                "type": "http.response.start",
                "status": link.redirect_type,
                "headers": response_headers,
            }
        )
        await send({"type": "http.response.body", "body": b""})
        client = scope.get("client")
        await state.click_recorder.record(link.id, headers, client[0] if client else None)

    async def _consume_use(self, link: CachedLink) -> bool:
        """Take one of the link's max_clicks, atomically across requests and workers."""
        async with self.state.sessionmaker() as session, session.begin():
            taken = await session.execute(
                update(Link)
                .where(col(Link.id) == link.id, col(Link.uses) < col(Link.max_clicks))
                .values(uses=col(Link.uses) + 1)
                .returning(col(Link.uses))
            )
            return taken.first() is not None

    async def _password_ok(self, link: CachedLink, password: str | None) -> bool:
        if not password:
            return False
        async with self.state.sessionmaker() as session:
            password_hash = (
                await session.execute(
                    select(col(Link.password_hash)).where(col(Link.id) == link.id)
                )
            ).scalar_one_or_none()
        return await verify_password(password, password_hash)

    async def _problem(self, send: Send, scope: Scope, status: int, message: str) -> None:
        if _wants_html(scope):
            title = "Link not found" if status == 404 else "Link no longer available"
            body = self._render("error.html", status=status, title=title, message=message)
            await self._send(send, status, body, b"text/html; charset=utf-8", scope)
        else:
            detail = "link not found" if status == 404 else message
            await self._send(
                send, status, orjson.dumps({"detail": detail}), b"application/json", scope
            )

    async def _too_many(self, send: Send, scope: Scope, exc: TooManyRequests) -> None:
        retry = [(b"retry-after", (exc.headers or {})["Retry-After"].encode())]
        if _wants_html(scope):
            body = self._render("error.html", status=429, title="Slow down", message=exc.detail)
            await self._send(send, 429, body, b"text/html; charset=utf-8", scope, retry)
        else:
            body = orjson.dumps({"detail": exc.detail})
            await self._send(send, 429, body, b"application/json", scope, retry)

    async def _password_form(
        self, send: Send, scope: Scope, key: str, *, error: str | None, status: int
    ) -> None:
        body = self._render("password.html", key=key, error=error)
        await self._send(send, status, body, b"text/html; charset=utf-8", scope)

    def _render(self, template: str, **context: Any) -> bytes:
        env = self.state.templates.env
        html: str = env.get_template(template).render(**context)
        return html.encode()

    async def _send(
        self,
        send: Send,
        status: int,
        body: bytes,
        content_type: bytes,
        scope: Scope | None = None,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            _NO_STORE,
            *(extra or ()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        head = scope is not None and scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})


_CONTENT_LENGTH_0 = (b"content-length", b"0")


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _wants_html(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value and b"application/json" not in value
    return False


async def _read_password(receive: Receive) -> str | None:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_FORM_BYTES:
            return None
    values = parse_qs(body.decode("utf-8", "replace"))
    passwords = values.get("password")
    return passwords[0] if passwords else None
