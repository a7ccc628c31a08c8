"""Test fixtures: every test that takes `client` runs in both storage modes.

- sqlite: a migrated SQLite file per test, in-process cache and click queue;
- postgres: a database of this run's own on TEST_DATABASE_URL, truncated per test, with Redis
  at TEST_REDIS_URL under a key prefix of this test's own.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import argon2.profiles
import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from shortener.auth import passwords
from shortener.config import Settings
from shortener.main import ShortenerApp, create_app
from shortener.migrate import upgrade
from shortener.models import metadata
from tests.shared_validators import share_route_validators

# The `mailbox` fixture: a real SMTP server, for the tests of mail (password reset, ...).
pytest_plugins = ["tests.mailbox"]

RUN_ID = uuid.uuid4().hex[:8]
BASE_URL = "http://short.test"
# Seconds a test's own request to a server it started may take (httpx's default is 5): a
# loaded CI machine has stalled a request past that; a timeout only matters when stuck.
LIVE_TIMEOUT = 30.0
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not (TEST_DATABASE_URL and TEST_REDIS_URL):
        raise pytest.UsageError("CI needs TEST_DATABASE_URL and TEST_REDIS_URL (see .ci/run)")
    config.addinivalue_line(
        "markers",
        "solo: loads both cores on purpose (wrk, several hosts); .ci/test runs these after the "
        "parallel phase, alone, so neither they nor the tests beside them time out",
    )
    # Argon2 with its production parameters costs ~0.25 s of CPU a hash, and most tests sign
    # a user up and in: that was a third of the suite's CPU. The tests of hashing itself
    # (tests/auth/test_passwords.py) check the production parameters; servers the tests
    # start in their own processes keep them too.
    passwords.use_parameters(argon2.profiles.CHEAPEST)
    # An app per test rebuilt every route's validators: half the CPU of the API tests.
    share_route_validators()


# ---- databases, made once per run -------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set (CI always sets it)")
    name = f"shortener_test_{RUN_ID}"
    admin_dsn = make_url(TEST_DATABASE_URL).set(drivername="postgresql")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn.render_as_string(hide_password=False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = admin_dsn.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PostgresCleaner:
    """Empties this run's database between tests on one connection kept for the whole run.

    DELETE in reverse dependency order plus a restart of the id sequences leaves what TRUNCATE
    ... RESTART IDENTITY left, at a tenth of the cost on tables this small (~20 ms against
    ~240 ms, measured with 14 tables), and the kept connection saves a backend start (~100 ms
    on a busy machine) per test. The connection lives on an event loop of its own because an
    asyncpg connection belongs to the loop that opened it and every test runs its own.
    """

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: asyncpg.Connection = self._loop.run_until_complete(asyncpg.connect(dsn))
        sequences = self._loop.run_until_complete(
            self._conn.fetch("SELECT schemaname, sequencename FROM pg_sequences")
        )
        statements = [f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables)]
        statements += [f'ALTER SEQUENCE "{s}"."{n}" RESTART' for s, n in sequences]
        self._sql = "; ".join(statements)

    def clean(self) -> None:
        self._loop.run_until_complete(self._conn.execute(self._sql))

    def close(self) -> None:
        self._loop.run_until_complete(self._conn.close())
        self._loop.close()


@pytest.fixture(scope="session")
def postgres_cleaner(postgres_url: str) -> Iterator[PostgresCleaner]:
    cleaner = PostgresCleaner(postgres_url)
    yield cleaner
    cleaner.close()


async def _drop_redis_prefix(url: str, prefix: str) -> None:
    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


# ---- per-test settings, app and client --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_settings(mode: str, request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings for this test's storage mode; keyword arguments override any field."""
    if mode == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        db = tmp_path / "test.db"
        shutil.copy(template, db)
        base: dict[str, object] = {"database_url": f"sqlite:///{db}", "redis_url": None}
    else:
        url = request.getfixturevalue("postgres_url")
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set (CI always sets it)")
        request.getfixturevalue("postgres_cleaner").clean()
        prefix = f"shortener-test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
        base = {"database_url": url, "redis_url": TEST_REDIS_URL, "redis_prefix": prefix}
        request.addfinalizer(lambda: asyncio.run(_drop_redis_prefix(TEST_REDIS_URL, prefix)))

    def build(**overrides: object) -> Settings:
        fields = {
            "environment": "test",
            "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
            "base_url": BASE_URL,
            "click_flush_interval": 0.05,
            # Rate limits would trip over the many sign-ins tests make; the rate-limit tests
            # turn them on.
            "rate_limits_enabled": False,
            **base,
            **overrides,
        }
        return Settings(**fields)  # type: ignore[arg-type]

    return build


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings()  # type: ignore[no-any-return]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[ShortenerApp]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: ShortenerApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The environment the `shortener` CLI reads, matching this test's settings; returns a
    function that creates an account through the CLI."""
    from shortener.cli import main

    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_PREFIX": settings.redis_prefix,
        "BASE_URL": settings.base_url,
        "SECRET_KEY": settings.signing_key,
        "ENVIRONMENT": "test",
        "BLOCKED_DOMAINS": ",".join(settings.blocked_domains),
        "RATE_LIMIT_IMPORT_USER": settings.rate_limit_import_user,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def create_user(email: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
        assert main(["create-user", email, "--password-stdin"]) == 0

    return create_user


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own (for migration and CLI tests)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set (CI always sets it)")
    admin = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    name = f"shortener_migr_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield admin.set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
