"""Raw clicks are deleted after CLICK_RETENTION_DAYS, by the CLI and hourly by the flusher;
the rollups (and so the statistics) stay."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from shortener import cli
from shortener.models import Click
from tests.clicks.traffic import visit, wait_written
from tests.factories import eventually, make_link, make_user

DAY = 86_400


async def old_and_new_clicks(client, app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    await make_link(client, headers, alias="aging")
    now = time.time()
    app.runtime.click_recorder.clock = lambda: now - 100 * DAY
    await visit(client, "aging", ip="81.2.69.142")
    await visit(client, "aging", ip="8.8.8.8")
    app.runtime.click_recorder.clock = lambda: now - DAY
    await visit(client, "aging", ip="81.2.69.142")
    await wait_written(app, 3)
    return headers


async def raw_clicks(app) -> int:  # type: ignore[no-untyped-def]
    async with app.runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Click))).scalar_one())


async def old_day_clicks(client, headers) -> int:  # type: ignore[no-untyped-def]
    day = datetime.fromtimestamp(time.time() - 100 * DAY, UTC).date().isoformat()
    response = await client.get(
        "/api/links/aging/stats", params={"from": day, "to": day}, headers=headers
    )
    return int(response.json()["total_clicks"])


async def test_cleanup_command(client, app, settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    headers = await old_and_new_clicks(client, app)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CLICK_RETENTION_DAYS", "90")
    assert await asyncio.to_thread(cli.main, ["cleanup"]) == 0
    assert "deleted 2 raw clicks older than 90 days" in capsys.readouterr().out
    assert await raw_clicks(app) == 1
    assert await old_day_clicks(client, headers) == 2  # from the rollups


async def test_flusher_cleans_up_hourly(client, app) -> None:  # type: ignore[no-untyped-def]
    headers = await old_and_new_clicks(client, app)
    # The flusher cleaned up when it started; the next round is an hour away.
    assert await raw_clicks(app) == 3
    app.runtime.flusher.next_cleanup_at = 0.0  # an hour has passed

    async def cleaned() -> bool:
        return await raw_clicks(app) == 1

    await eventually(cleaned)
    assert await old_day_clicks(client, headers) == 2
