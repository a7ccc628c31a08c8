"""Serving workers may leave the Redis click stream to a flusher of its own (`shortener flush`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shortener.config import ConfigError, Settings
from tests.factories import click_counts, eventually, make_link, make_user, running
from tests.processes import server_env


def test_without_redis_someone_must_flush() -> None:
    with pytest.raises(ConfigError, match="CLICK_FLUSHER=false needs REDIS_URL"):
        Settings(  # type: ignore[call-arg]
            environment="test", database_url="sqlite:///x.db", click_flusher=False
        )


@pytest.mark.parametrize("mode", ["postgres"])
async def test_a_serving_worker_leaves_the_stream_to_the_flusher(
    make_settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    serving = make_settings(click_flusher=False)
    async with running(serving) as (app, client):
        headers = await make_user(client)
        await make_link(client, headers, alias="apart")
        for _ in range(30):
            assert (await client.get("/apart")).status_code == 302

        async def queued() -> bool:
            return bool(await app.runtime.click_queue.pending() == 30)

        await eventually(queued)
        # Several of its flush intervals go by: the serving worker writes none of them.
        await asyncio.sleep(serving.click_flush_interval * 10)
        assert await click_counts(app, "apart") == (0, 0)

        # `shortener flush`, the real command, writes them, and stops cleanly on SIGTERM.
        env = server_env(serving, CLICK_FLUSHER="false")  # the command turns it on for itself
        log = (tmp_path / "flush.log").open("wb")
        flusher = subprocess.Popen(
            [sys.executable, "-m", "shortener.cli", "flush"], env=env, stdout=log, stderr=log
        )
        try:

            async def written() -> bool:
                return await click_counts(app, "apart") == (30, 30)

            await eventually(written)
        finally:
            flusher.send_signal(signal.SIGTERM)
            code = flusher.wait(timeout=30)
        assert code == 0, (tmp_path / "flush.log").read_text()
        assert await app.runtime.click_queue.pending() == 0


def test_flush_needs_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(ENVIRONMENT="test", DATABASE_URL=f"sqlite:///{tmp_path}/x.db", REDIS_URL="")
    (tmp_path / "x.db").touch()  # only serve and migrate create a SQLite file
    done = subprocess.run(
        [sys.executable, "-m", "shortener.cli", "flush"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "set REDIS_URL" in done.stderr
