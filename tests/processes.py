"""Real processes and sockets for the fault, restart and hostile-input tests.

Everything listens on 127.0.0.1 on a free port, waits with a deadline, and is stopped by the
fixture that started it (see tests/reliability/conftest.py), whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from redis import Redis

from shortener.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


class RedisServer:
    """A `redis-server` of the test's own, which the test may kill, pause and start again."""

    def __init__(self, aof_dir: Path | None = None, appendfsync: str = "always") -> None:
        """With `aof_dir`, every write is fsynced to an append-only file there (as a
        production Redis holding the click stream should be run), so a kill loses nothing;
        with appendfsync="everysec" (Redis' default for AOF) once a second."""
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.aof_dir = aof_dir
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", self.appendfsync, "--dir", str(self.aof_dir)]
            if self.aof_dir
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_timeout=0.5)
        try:
            wait_until(client.ping, timeout=10, what="redis-server start")
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)
        self.kill()


class TcpProxy:
    """A TCP relay in the test's event loop; `stop()` refuses connections and cuts open ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.url = ""  # set by whoever knows what the relay carries
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):
            # Swallowing the cancel (the relay is closing) keeps Python 3.11's stream callback
            # from logging it as an error.
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            dst.transport.abort()
            self._writers.discard(dst)


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives `shortener serve` these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(
        PYTHONPATH=str(ROOT),
        ENVIRONMENT="test",
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url or "",
        REDIS_PREFIX=settings.redis_prefix,
        SECRET_KEY=settings.signing_key,
        BASE_URL=settings.base_url,
        CLICK_FLUSH_INTERVAL=str(settings.click_flush_interval),
        RATE_LIMITS_ENABLED=str(settings.rate_limits_enabled).lower(),
    )
    env.update(extra)
    return env


class ServeProcess:
    """`shortener serve` as a subprocess: the real CLI, uvicorn, signals and all."""

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 1) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start and wait for /healthz, yielding to the event loop (a TcpProxy in the test's
        loop may be what the server reaches its database through)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shortener.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            cwd=self.log_path.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"shortener serve exited:\n{self.log()}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"shortener serve did not start:\n{self.log()}")
                await asyncio.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def events(self) -> str:
        """The whole log but its access lines (the last 5000 characters of that): what the
        server had to say besides answering, the first place to look when a test fails."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if " shortener.access: " not in line)[-5000:]

    async def terminate(self, timeout: float = 60) -> None:
        """SIGTERM, as a process manager would; fails unless the shutdown was graceful.

        uvicorn re-raises the signal once it has shut down, so the exit status is -SIGTERM
        either way: the log tells a completed lifespan shutdown (the click drain) apart."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.process.wait, timeout)
        self.process = None
        assert code in (0, -signal.SIGTERM), self.log()
        assert "Application shutdown complete" in self.log(), self.log()

    def kill(self) -> None:
        """SIGKILL the whole process (and, for --workers, its children)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            for child in _children(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]


class ThreadedServer:
    """uvicorn serving an app object in a thread of its own: real HTTP, in this process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        """`port`: one the caller chose (so the app's BASE_URL can name it); free by default."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=30, what="uvicorn start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
