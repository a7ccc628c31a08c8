"""Issue 18, item 15: started by plain uvicorn (which configures only its own loggers), the
app configures logging from its settings, so request lines are written as under serve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, logging, httpx
from shortener.main import create_app
from shortener.migrate import upgrade
import os
upgrade(os.environ["DATABASE_URL"])
app = create_app()
async def main():
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/api/users/me")
asyncio.run(main())
"""


def test_the_app_logs_when_the_server_configured_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}",
        "REDIS_URL": "",
        "SECRET_KEY": "x" * 40,
        "LOG_FORMAT": "json",
    }
    env.pop("BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"path":"/api/users/me"' in done.stderr.replace(" ", ""), done.stderr
