"""What the security and body-limit middleware cost a redirect, in process (no network).

Runs N cached redirects through the whole stack (security headers, catch-all, body limit,
redirect shortcut) and through the redirect shortcut alone, and prints both per request.
Usage: PYTHONPATH=. python bench/middleware_overhead.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from shortener.config import Settings
from shortener.main import create_app
from shortener.migrate import upgrade
from shortener.models import Link, User
from shortener.redirect import RedirectShortcut


async def run(n: int, db: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite:///{db}",
        secret_key="bench-secret-key-bench-secret-key-bench",
        environment="test",
        click_flush_interval=0.5,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session, session.begin():
            user = User(email="b@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            session.add(
                Link(
                    key="bench",
                    url="https://example.com/",
                    url_md5="x",
                    key_strategy="alias",
                    owner_id=user.id,
                )
            )
        full = app.build_middleware_stack()
        inner: Any = full
        while not isinstance(inner, RedirectShortcut):
            inner = inner.app
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/bench",
            "raw_path": b"/bench",
            "query_string": b"",
            "headers": [(b"host", b"short.test"), (b"user-agent", b"b")],
            "client": ("127.0.0.1", 1234),
            "server": ("short.test", 80),
            "scheme": "http",
            "http_version": "1.1",
            "root_path": "",
            "asgi": {"version": "3.0"},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            pass

        ours = full.app  # below Starlette's ServerErrorMiddleware: where ours begin
        stacks = (("shortcut alone", inner), ("+ our middleware", ours), ("+ Starlette's", full))
        for name, target in stacks:
            for _ in range(500):
                await target(dict(scope), receive, send)
            start = time.perf_counter()
            for _ in range(n):
                await target(dict(scope), receive, send)
            elapsed = time.perf_counter() - start
            print(f"{name:17s} {elapsed / n * 1e6:7.1f} µs per redirect ({n} runs)")


if __name__ == "__main__":
    path = Path(tempfile.mkdtemp()) / "bench.db"
    upgrade(f"sqlite:///{path}")  # runs its own event loop: before ours
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, path))
