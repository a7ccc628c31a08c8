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


def test_records_follow_stderr_when_it_is_swapped(capsys) -> None:  # type: ignore[no-untyped-def]
    """The configured handler writes to sys.stderr as it is at each record: a runner that swaps
    stderr for a stand-in and closes it later (pytest does, per test) is never written to
    closed, the noise "--- Logging error --- ValueError: I/O operation on closed file"."""
    import io
    import logging

    from shortener.observability.logs import StderrHandler

    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("tests.swapped-stderr")
    log.addHandler(handler)
    log.propagate = False
    real = sys.stderr
    first, second = io.StringIO(), io.StringIO()
    try:
        sys.stderr = first
        log.warning("one")
        first.close()
        sys.stderr = second
        log.warning("two")
    finally:
        sys.stderr = real
        log.removeHandler(handler)
    assert second.getvalue() == "two\n"
    assert "Logging error" not in capsys.readouterr().err


def test_a_record_meets_a_closed_stderr_and_still_goes_out(capfd) -> None:  # type: ignore[no-untyped-def]
    """A thread that logs after the stderr in place was closed (pytest's stand-in, torn down
    with the test that started the thread) writes to the process's own stderr instead."""
    import io
    import logging

    from shortener.observability.logs import StderrHandler

    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("tests.closed-stderr")
    log.addHandler(handler)
    log.propagate = False
    real = sys.stderr
    closed = io.StringIO()
    closed.close()
    try:
        sys.stderr = closed
        log.warning("still out")
    finally:
        sys.stderr = real
        log.removeHandler(handler)
    err = capfd.readouterr().err
    assert "still out" in err and "Logging error" not in err
