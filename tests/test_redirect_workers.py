"""What one worker changes, every worker answers at once: `shortener serve --workers 2`.

A real server as a subprocess and a new connection per request, so the kernel hands requests
to both workers (their request ids carry per-process prefixes: each check goes on until both
have answered). Cache TTLs are 300 s, so no expiry can be what makes a change visible: with
Redis, the acknowledged invalidation must do it before the API call returns; without Redis,
`serve` turns the in-process cache (and so the key filter) off.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import httpx

from tests.conftest import LIVE_TIMEOUT
from tests.factories import make_link, make_user
from tests.processes import server_env
from tests.reliability.conftest import serve

__all__ = ["serve"]  # the fixture that starts (and always stops) `shortener serve`

FRESH = httpx.Limits(max_keepalive_connections=0)


async def answers(client: httpx.AsyncClient, path: str) -> set[int]:
    """The statuses of `path` from both workers (at least ten requests, until both answered)."""
    statuses: set[int] = set()
    workers: set[str] = set()
    sent = 0
    deadline = time.monotonic() + 30
    while len(workers) < 2 or sent < 10:
        assert time.monotonic() < deadline, "one worker answered every request"
        r = await client.get(path)
        statuses.add(r.status_code)
        workers.add(r.headers["x-request-id"].split("-")[0])
        sent += 1
    return statuses


@contextlib.asynccontextmanager
async def two_workers(make_settings, serve) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:  # type: ignore[no-untyped-def]
    """`serve --workers 2` with 300 s cache TTLs; a client on fresh connections, and a user."""
    env = server_env(make_settings(), LINK_CACHE_TTL="300", NEGATIVE_CACHE_TTL="300")
    server = await serve(env, workers=2)
    async with httpx.AsyncClient(base_url=server.url, timeout=LIVE_TIMEOUT, limits=FRESH) as client:
        yield client, await make_user(client)


async def test_create_deactivate_delete_reach_every_worker_at_once(  # type: ignore[no-untyped-def]
    make_settings, serve
) -> None:
    async with two_workers(make_settings, serve) as (client, headers):
        # Both workers have answered "unknown" (from the key filter, or a remembered miss).
        assert await answers(client, "/late-key") == {404}
        await make_link(client, headers, alias="late-key", url="https://example.com/first")
        assert await answers(client, "/late-key") == {302}

        patched = await client.patch(
            "/api/links/late-key", json={"is_active": False}, headers=headers
        )
        assert patched.status_code == 200
        assert await answers(client, "/late-key") == {410}
        patched = await client.patch(
            "/api/links/late-key", json={"is_active": True}, headers=headers
        )
        assert await answers(client, "/late-key") == {302}

        deleted = await client.delete("/api/links/late-key", headers=headers)
        assert deleted.status_code == 204
        assert await answers(client, "/late-key") == {404}


async def test_a_changed_key_reaches_every_worker_at_once(  # type: ignore[no-untyped-def]
    make_settings, serve
) -> None:
    async with two_workers(make_settings, serve) as (client, headers):
        await make_link(client, headers, alias="old-key", url="https://example.com/first")
        # Both workers hold the old key (cached) and know the new one as unknown.
        assert await answers(client, "/old-key") == {302}
        assert await answers(client, "/new-key") == {404}
        patched = await client.patch("/api/links/old-key", json={"key": "new-key"}, headers=headers)
        assert patched.status_code == 200, patched.text
        # The old key is forgotten, and the filter of known keys has learnt the new one.
        assert await answers(client, "/old-key") == {404}
        assert await answers(client, "/new-key") == {302}
