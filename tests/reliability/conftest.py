"""Fixtures that start real things (redis-server, `shortener serve`, TCP proxies) and always
stop them, whatever the test did."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.processes import RedisServer, ServeProcess, TcpProxy


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def durable_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server with an fsync-always append-only file: a kill -9 loses no entry."""
    aof = tmp_path / "redis-aof"
    aof.mkdir()
    server = RedisServer(aof_dir=aof)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    started: list[ServeProcess] = []

    async def start(env: dict[str, str], *, workers: int = 1, name: str = "serve") -> ServeProcess:
        process = ServeProcess(env, tmp_path / f"{name}-{len(started)}.log", workers=workers)
        started.append(process)
        await process.start()
        return process

    try:
        yield start
    finally:
        for process in started:
            process.kill()


@pytest.fixture
async def pg_proxy(postgres_url: str) -> AsyncIterator[TcpProxy]:
    """A relay to the run's PostgreSQL that the test can cut; `url` goes through it."""
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxy.url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    try:
        yield proxy
    finally:
        await proxy.stop()
