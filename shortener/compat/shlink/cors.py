"""CORS on /rest/ as Shlink answers it: any origin, and preflights answered by the API itself.

Shlink's web client is a static page served from anywhere (app.shlink.io, a self-hosted copy),
so Shlink lets every origin call its API with the key in a header: no cookies are involved,
so no origin gains anything another lacks. A request with `Origin` gets
`Access-Control-Allow-Origin: *`; an OPTIONS request with `Origin` is a preflight and gets an
empty 204 naming the path's methods, echoing the requested headers, cached for an hour.
The rest of the service keeps CORS_ORIGINS (main.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/rest/"
MAX_AGE = "3600"


class ShlinkCors:
    def __init__(self, app: ASGIApp, routes: Iterable[tuple[re.Pattern[str], set[str]]]) -> None:
        """`routes`: each path pattern of the API with its methods (api.route_methods())."""
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        if b"origin" not in headers:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._preflight(scope, headers, send)
            return

        async def send_with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", b"*"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_origin)

    async def _preflight(self, scope: Scope, headers: dict[bytes, bytes], send: Send) -> None:
        methods = self._methods(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-allow-methods", ",".join(methods).encode()),
                    (
                        b"access-control-allow-headers",
                        headers.get(b"access-control-request-headers", b""),
                    ),
                    (b"access-control-max-age", MAX_AGE.encode()),
                    (b"allow", ",".join(methods).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def _methods(self, scope: Scope) -> list[str]:
        """The methods this path answers (what Shlink's router puts in `Allow`)."""
        found: set[str] = set()
        for pattern, methods in self.routes:
            if pattern.fullmatch(scope["path"]):
                found.update(methods)
        order = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [m for m in order if m in found] + ["OPTIONS"]
