"""Every answer of the redirect path that is not a redirect: 404/410 problems, 405, 429, the
password form, and the 500/503 of a failure, with the headers FastAPI's stack would have added.

What is the same for every request (a JSON problem, the "not found" page) is built once: an
unknown key, the answer a scanner gets, costs a lookup in a dict, not a template render.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Scope, Send

from shortener.errors import TooManyRequests
from shortener.redirect.headers import HTML_SECURITY_HEADERS, NO_STORE, SECURITY_HEADERS
from shortener.request_headers import Headers

JSON = b"application/json"
HTML = b"text/html; charset=utf-8"
NOT_FOUND = "No short link has this key."
METHOD_NOT_ALLOWED = b'{"detail":"method not allowed"}'


def wants_html(scope: Scope) -> bool:
    """The request's Accept asks for HTML rather than JSON (a browser): the one rule."""
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value and b"application/json" not in value
    return False


def answer_headers(body: bytes, content_type: bytes, extra: Headers | None = None) -> Headers:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        NO_STORE,
        *(extra or ()),
    ]
    # These answers skip the app's middleware: they carry its security headers themselves.
    if content_type.startswith(b"text/html"):
        headers.extend(HTML_SECURITY_HEADERS)  # the page CSP, as on every other page
    else:
        headers.extend(SECURITY_HEADERS)
    return headers


async def send_answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    scope: Scope | None = None,
    extra: Headers | None = None,
) -> None:
    headers = answer_headers(body, content_type, extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    head = scope is not None and scope["method"] == "HEAD"
    await send({"type": "http.response.body", "body": b"" if head else body})


class Answers:
    """The error answers, rendered with the app's templates; problems memoised per message."""

    def __init__(self, templates: Any) -> None:
        self._templates = templates
        # (status, message, html) -> (body, headers): a handful of fixed messages.
        self._problems: dict[tuple[int, str, bool], tuple[bytes, Headers]] = {}

    async def problem(self, send: Send, scope: Scope, status: int, message: str) -> None:
        html = wants_html(scope)
        prebuilt = self._problems.get((status, message, html))
        if prebuilt is None:
            prebuilt = self._problems[(status, message, html)] = self._build(status, message, html)
        body, headers = prebuilt
        # A fresh list each time: the observer appends its request id to what it is given.
        await send({"type": "http.response.start", "status": status, "headers": [*headers]})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _build(self, status: int, message: str, html: bool) -> tuple[bytes, Headers]:
        if html:
            title = "Link not found" if status == 404 else "Link no longer available"
            body = self.render("error.html", status=status, title=title, message=message)
            return body, answer_headers(body, HTML)
        detail = "link not found" if status == 404 else message
        body = orjson.dumps({"detail": detail})
        return body, answer_headers(body, JSON)

    async def too_many(self, send: Send, scope: Scope, exc: TooManyRequests) -> None:
        retry = [(b"retry-after", (exc.headers or {})["Retry-After"].encode())]
        if wants_html(scope):
            body = self.render("error.html", status=429, title="Slow down", message=exc.detail)
            await send_answer(send, 429, body, HTML, scope, retry)
        else:
            await send_answer(send, 429, orjson.dumps({"detail": exc.detail}), JSON, scope, retry)

    async def password_form(
        self, send: Send, scope: Scope, key: str, *, error: str | None, status: int
    ) -> None:
        body = self.render("password.html", key=key, error=error)
        await send_answer(send, status, body, HTML, scope)

    async def preview(self, send: Send, scope: Scope, **context: Any) -> None:
        """The Open Graph page link-unfurling crawlers read; people never see it."""
        await send_answer(send, 200, self.render("preview.html", **context), HTML, scope)

    def render(self, template: str, **context: Any) -> bytes:
        html: str = self._templates.env.get_template(template).render(**context)
        return html.encode()
