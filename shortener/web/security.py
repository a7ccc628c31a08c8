"""Security headers for every HTML answer: dashboard pages, error pages, the password form.

Pure ASGI: it looks only at the response start message and adds the headers when the body is
HTML, leaving JSON answers as they are. The redirect path answers before FastAPI's stack (and
this middleware), so it appends HTML_SECURITY_HEADERS to its own HTML pages.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shortener.redirect.headers import CONTENT_SECURITY_POLICY, HTML_SECURITY_HEADERS

__all__ = ["CONTENT_SECURITY_POLICY", "HTML_SECURITY_HEADERS", "HtmlSecurityHeaders"]


class HtmlSecurityHeaders:
    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        # /docs and /redoc run FastAPI's inline scripts (shortener/docs_pages.py): their own way.
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                ):
                    present = {name.lower() for name, _ in headers}
                    extra = [h for h in HTML_SECURITY_HEADERS if h[0] not in present]
                    message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
