"""Helpers that make users, tokens and links through the real API."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from shortener.auth.service import create_user
from shortener.config import Settings
from shortener.main import create_app
from shortener.models import Click, Link
from tests.conftest import BASE_URL, LIVE_TIMEOUT

PASSWORD = "correct horse battery"
_emails = itertools.count()


def new_email() -> str:
    return f"user{next(_emails)}-{time.monotonic_ns()}@example.com"


async def token_for(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def make_user(
    client: httpx.AsyncClient, *, email: str | None = None, admin: bool = False
) -> dict[str, str]:
    """A new account; returns the headers that act as it."""
    email = email or new_email()
    if admin:
        app: Any = client._transport.app  # type: ignore[attr-defined]
        async with app.runtime.sessionmaker() as session, session.begin():
            await create_user(session, email=email, password=PASSWORD, is_admin=True)
    else:
        response = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {await token_for(client, email)}"}


async def make_link(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> Any:
    body = {"url": "https://example.com/page", **fields}
    response = await client.post("/api/links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = LIVE_TIMEOUT, interval: float = 0.02
) -> None:
    """Poll `check` until it is true; fail after `timeout` seconds (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def click_counts(app: Any, key: str) -> tuple[int, int]:
    """(the link's click counters, people and bots, its click rows): both must equal the
    redirects answered."""
    async with app.runtime.sessionmaker() as session:
        link = (await session.execute(select(Link).where(Link.key == key))).scalar_one()
        rows = (
            await session.execute(
                select(func.count()).select_from(Click).where(Click.link_id == link.id)
            )
        ).scalar_one()
    return int(link.clicks + link.bot_clicks), int(rows)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """An app of its own (lifespan running) and a client for it: a test's own worker."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield app, client


def all_clicks(link: Any) -> int:
    """A link's clicks, people's and bots' (a test client's user agent is a bot's)."""
    return int(link["clicks"]) + int(link["bot_clicks"])
