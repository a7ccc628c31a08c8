"""Issue 18 (item 18's rest): migrate, cleanup and export draw import's progress bar when a
person watches (standard error a terminal, or forced with TTY_COMPATIBLE=1), and nothing
when it is a pipe. Real subprocesses, in both storage modes."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from shortener.cli_database import describe
from shortener.migrate import alembic_config
from tests.clicks.test_retention import old_and_new_clicks
from tests.factories import make_link, make_user, new_email
from tests.test_cli import ROOT, shortener

FORCED = {"TTY_COMPATIBLE": "1"}


def run(database_url: str, cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "DATABASE_URL")
        and not k.startswith(("TEST_", "PYTEST"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        SECRET_KEY="cli-test-secret-key-that-is-long-enough",
        ENVIRONMENT="test",
        **extra,
    )
    return shortener(env, cwd, *args)


def only_the_database_line(result: subprocess.CompletedProcess[str], url: str) -> bool:
    return result.stderr == f"database: {describe(url)}\n"


@pytest.mark.parametrize("forced", [False, True], ids=["pipe", "forced"])
def test_migrate(tmp_path: Path, forced: bool) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run(url, tmp_path, "migrate", **(FORCED if forced else {}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at revision")
    if not forced:
        assert only_the_database_line(result, url), result.stderr
        return
    steps = sum(1 for _ in ScriptDirectory.from_config(alembic_config(url)).walk_revisions())
    assert steps >= 10
    assert "migrating" in result.stderr and f"{steps}/{steps}" in result.stderr, result.stderr
    # Up to date: a bar of nothing to do.
    again = run(url, tmp_path, "migrate", **FORCED)
    assert "0/0" in again.stderr and again.returncode == 0


async def test_cleanup(client, app, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await old_and_new_clicks(client, app)  # two raw clicks 100 days old, one a day old
    days = {"CLICK_RETENTION_DAYS": "90"}
    forced = await asyncio.to_thread(
        run, settings.database_url, tmp_path, "cleanup", **days, **FORCED
    )
    assert forced.returncode == 0, forced.stderr
    assert "deleted 2 raw clicks" in forced.stdout
    assert "deleting old clicks" in forced.stderr and "2/2" in forced.stderr, forced.stderr
    piped = await asyncio.to_thread(run, settings.database_url, tmp_path, "cleanup", **days)
    assert piped.returncode == 0 and "deleted 0 raw clicks" in piped.stdout
    assert only_the_database_line(piped, settings.database_url), piped.stderr


async def test_export(client, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    email = new_email()
    headers = await make_user(client, email=email)
    for n in range(3):
        await make_link(client, headers, alias=f"bar{n}")
    args = ("export", str(tmp_path / "out.csv"), "--user", email)
    forced = await asyncio.to_thread(run, settings.database_url, tmp_path, *args, **FORCED)
    assert forced.returncode == 0, forced.stderr
    assert "exporting" in forced.stderr and "3/3" in forced.stderr, forced.stderr
    piped = await asyncio.to_thread(run, settings.database_url, tmp_path, *args)
    assert piped.returncode == 0, piped.stderr
    assert "exporting" not in piped.stderr and "3/3" not in piped.stderr
    assert piped.stderr.splitlines()[-1] == f"links written to {tmp_path / 'out.csv'}"
    assert (tmp_path / "out.csv").read_text().count("\n") == 4  # header and three links
