#!/usr/bin/env python
"""What the service's redirect path costs in process, against the bare ASGI app.

    python bench/redirect_inprocess.py [N]

Calls each app directly as ASGI (no server, no network) N times for a cached redirect and
prints the time per call: the bare baseline (bench/baseline.py), the service's redirect path
(request id, cache look-up, checks, headers, noting the click), and the same with the
pump's share (making click records) included. What the network and uvicorn cost is the same
for both and is measured by redirect_bench.py; this isolates our part of it, steadily enough
to compare one change with another.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baseline
from _harness import workspace_of

from shortener.config import Settings
from shortener.main import create_app
from shortener.migrate import upgrade
from shortener.models import Link, User

SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/bench",
    "raw_path": b"/bench",
    "query_string": b"",
    "headers": [(b"host", b"short.test"), (b"user-agent", b"Mozilla/5.0 bench")],
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


async def per_call(app: Any, n: int, after: Any = None) -> float:
    for _ in range(500):
        await app(dict(SCOPE), receive, send)
    if after is not None:
        await after()
    started = time.process_time()
    for _ in range(n):
        await app(dict(SCOPE), receive, send)
    if after is not None:
        await after()
    return (time.process_time() - started) / n * 1e6


def bench_settings(db: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=f"sqlite:///{db}",
        secret_key="bench-secret-key-bench-secret-key-bench",
        environment="test",
        click_flush_interval=3600,  # the flusher stays out of the measurement
    )


async def add_links(app: Any, forward_path: dict[str, bool]) -> None:
    """A user's links of these keys (to https://example.com/), each forwarding paths or not."""
    async with app.runtime.sessionmaker() as session, session.begin():
        user = User(email="b@example.com", password_hash="x")
        session.add(user)
        await session.flush()
        workspace = await workspace_of(session, user)
        for key, forward in forward_path.items():
            row = {"key": key, "url": "https://example.com/", "url_md5": "x"}
            session.add(
                Link(
                    **row,
                    key_strategy="alias",
                    owner_id=user.id,
                    workspace_id=workspace,
                    forward_path=forward,
                )
            )
    # As the API does after every create.
    await app.runtime.link_cache.invalidate_many(list(forward_path))


async def run(n: int, db: Path) -> None:
    app = create_app(bench_settings(db))
    async with app.router.lifespan_context(app):
        await add_links(app, {"bench": False})
        bare = await per_call(baseline.app, n)
        ours = await per_call(app, n)
        with_pump = await per_call(app, n, after=app.runtime.click_recorder.ship)
        print(f"bare ASGI app                {bare:6.1f} µs per redirect ({n} calls)")
        print(f"service redirect path        {ours:6.1f} µs ({ours - bare:+.1f})")
        print(f"  + making the click records {with_pump:6.1f} µs ({with_pump - bare:+.1f})")


if __name__ == "__main__":
    path = Path(tempfile.mkdtemp()) / "bench.db"
    upgrade(f"sqlite:///{path}")  # runs its own event loop: before ours
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000, path))
