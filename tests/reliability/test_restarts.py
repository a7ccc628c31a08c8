"""`shortener serve` for real: SIGTERM after a burst, kill -9 mid-write, several workers."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from tests.factories import PASSWORD, all_clicks, eventually, new_email
from tests.processes import ServeProcess, TcpProxy, server_env


async def _signed_in(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        email = new_email()
        r = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _create(base: str, headers: dict[str, str], **body: object) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.post("/api/links", json=body, headers=headers)
        assert r.status_code == 201, r.text


async def _clicks(base: str, headers: dict[str, str], key: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.get(f"/api/links/{key}", headers=headers)
        assert r.status_code == 200, r.text
        return all_clicks(r.json())


async def burst(
    base: str, path: str, n: int, *, concurrency: int = 20, fresh: bool = False
) -> Counter[int]:
    """`n` GETs, at most `concurrency` at a time; with `fresh`, a new connection each (so the
    kernel spreads them over the workers)."""
    statuses: Counter[int] = Counter()
    limit = asyncio.Semaphore(concurrency)
    headers = {"Connection": "close"} if fresh else {}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one() -> None:
            async with limit:
                response = await client.get(path, headers=headers)
                statuses[response.status_code] += 1

        await asyncio.gather(*(one() for _ in range(n)))
    return statuses


async def _locations(base: str, path: str, n: int) -> Counter[str]:
    found: Counter[str] = Counter()
    limit = asyncio.Semaphore(10)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def one() -> None:
            async with limit:
                r = await client.get(path, headers={"Connection": "close"})
                found[r.headers.get("location", str(r.status_code))] += 1

        await asyncio.gather(*(one() for _ in range(n)))
    return found


async def test_sigterm_after_a_burst_loses_no_click(
    make_settings, serve: Callable[..., ServeProcess]
) -> None:
    settings = make_settings()
    # A long flush interval: at SIGTERM most clicks are still queued; only the drain saves them.
    env = server_env(settings, CLICK_FLUSH_INTERVAL="30")
    server = await serve(env)
    headers = await _signed_in(server.url)
    await _create(server.url, headers, url="https://example.com/burst", alias="burst")
    statuses = await burst(server.url, "/burst", 300)
    answered = statuses[302]
    assert statuses == Counter({302: 300})

    await server.terminate()
    server = await serve(env, name="restarted")
    assert await _clicks(server.url, headers, "burst") == answered
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        try:
            assert await redis.xlen(f"{settings.redis_prefix}clicks") == 0
        finally:
            await redis.aclose()


@pytest.mark.parametrize("mode", ["postgres"])
async def test_kill_9_with_unacknowledged_entries_they_are_claimed_and_counted_once(
    make_settings, serve: Callable[..., ServeProcess], pg_proxy: TcpProxy, postgres_url: str
) -> None:
    settings = make_settings()
    stream = f"{settings.redis_prefix}clicks"
    # The first server reaches PostgreSQL through a relay we can cut, so its flusher reads
    # entries from the stream and then cannot write them.
    first = await serve(server_env(settings, DATABASE_URL=pg_proxy.url), name="doomed")
    headers = await _signed_in(first.url)
    await _create(first.url, headers, url="https://example.com/orphans", alias="orphans")
    assert (await burst(first.url, "/orphans", 1)) == Counter({302: 1})  # cached from now on

    async def first_counted() -> bool:
        return await _clicks(first.url, headers, "orphans") == 1

    await eventually(first_counted)

    await pg_proxy.stop()
    statuses = await burst(first.url, "/orphans", 40)
    assert statuses == Counter({302: 40})
    redis = Redis.from_url(settings.redis_url)
    try:
        # Its flusher has read a batch it cannot write (the rest it has not read yet).
        async def read_not_acked() -> bool:
            return int((await redis.xpending(stream, "flushers"))["pending"]) > 0

        await eventually(read_not_acked)
        first.kill()  # SIGKILL: no drain, no goodbye

        second = await serve(server_env(settings, CLICK_CLAIM_IDLE_MS="500"), name="heir")

        async def claimed() -> bool:
            pending = int((await redis.xpending(stream, "flushers"))["pending"])
            return pending == 0 and await redis.xlen(stream) == 0

        await eventually(claimed)
        assert await _clicks(second.url, headers, "orphans") == 41
    finally:
        await redis.aclose()


@pytest.mark.parametrize("mode", ["postgres"])
async def test_two_workers_count_exactly_and_all_see_a_patch_at_once(
    make_settings, serve: Callable[..., ServeProcess]
) -> None:
    settings = make_settings()
    server = await serve(server_env(settings, LINK_CACHE_TTL="300"), workers=2)
    headers = await _signed_in(server.url)
    await _create(server.url, headers, url="https://example.com/before", alias="shared")

    statuses = await burst(server.url, "/shared", 400, concurrency=40, fresh=True)
    assert statuses == Counter({302: 400})
    redis = Redis.from_url(settings.redis_url)
    stream = f"{settings.redis_prefix}clicks"
    try:

        async def exact() -> bool:
            clicks = await _clicks(server.url, headers, "shared")
            assert clicks <= 400
            return clicks == 400

        await eventually(exact)

        async def settled() -> bool:
            pending = int((await redis.xpending(stream, "flushers"))["pending"])
            return pending == 0 and await redis.xlen(stream) == 0

        await eventually(settled)
        assert await _clicks(server.url, headers, "shared") == 400
        # Each worker flushed with a consumer of its own (so "never twice" was exercised).
        consumers = await redis.xinfo_consumers(stream, "flushers")
        assert len(consumers) >= 2
    finally:
        await redis.aclose()

    # Every worker has the link in its in-process cache now (long TTL)...
    assert await _locations(server.url, "/shared", 60) == Counter(
        {"https://example.com/before": 60}
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.patch(
            "/api/links/shared", json={"url": "https://example.com/after"}, headers=headers
        )
        assert r.status_code == 200, r.text
    # ...and the very next requests, on fresh connections spread over both, follow the change.
    assert await _locations(server.url, "/shared", 60) == Counter({"https://example.com/after": 60})
