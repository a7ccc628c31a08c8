"""A link's password is hashed (~100 ms) while no write transaction is open: on SQLite the
write lock is one for the whole database, and a bulk of password links used to hold it for
seconds while every other writer waited."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest

from shortener.auth import passwords
from shortener.config import Settings
from tests.conftest import LIVE_TIMEOUT
from tests.factories import make_link, make_user


def _take_write_lock(path: str) -> None:
    # Waits up to LIVE_TIMEOUT for the lock: background work (webhooks, clicks) may hold it for a
    # moment; the request that called us cannot go on until we return, so if *it* held the
    # lock we would wait out the timeout and fail.
    conn = sqlite3.connect(path, timeout=LIVE_TIMEOUT, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@pytest.mark.parametrize("mode", ["sqlite"])
async def test_passwords_are_hashed_outside_the_write_transaction(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings.database_url.removeprefix("sqlite:///")
    real_hash = passwords.hash_password
    hashed: list[str] = []
    locked: list[str] = []

    async def probing_hash(password: str) -> str:
        try:
            await asyncio.to_thread(_take_write_lock, path)
        except sqlite3.OperationalError as exc:
            locked.append(f"{password}: {exc}")
        hashed.append(password)
        return await real_hash(password)

    headers = await make_user(client)
    link = await make_link(client, headers)
    for module in ("shortener.links.validation", "shortener.links.service"):
        monkeypatch.setattr(f"{module}.hash_password", probing_hash)

    items: list[dict[str, Any]] = [
        {"url": f"https://x.example/{i}", "password": f"bulk-{i}"} for i in range(3)
    ]
    r = await client.post("/api/links/bulk", json={"links": items}, headers=headers)
    assert [i["status"] for i in r.json()["results"]] == ["created"] * 3
    r = await client.post(
        "/api/links", json={"url": "https://x.example/", "password": "one"}, headers=headers
    )
    assert r.status_code == 201
    r = await client.patch(f"/api/links/{link['key']}", json={"password": "two"}, headers=headers)
    assert r.status_code == 200
    assert sorted(hashed) == ["bulk-0", "bulk-1", "bulk-2", "one", "two"]
    assert locked == []
