"""The live feed against real servers: uvicorn on a free port, in this test's storage mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shortener.auth.service import create_user
from shortener.config import Settings
from shortener.db import make_engine, make_sessionmaker
from shortener.main import create_app
from tests.conftest import LIVE_TIMEOUT
from tests.factories import PASSWORD, new_email
from tests.processes import ThreadedServer


@dataclass
class Served:
    url: str
    app: Any  # its state belongs to the server's event loop: read plain attributes only
    settings: Settings


@pytest.fixture
def start_server(make_settings: Any) -> Iterator[Callable[..., Served]]:
    """Start the app (settings overridden by keywords) in a uvicorn thread; all are stopped."""
    servers: list[ThreadedServer] = []

    def start(**overrides: Any) -> Served:
        settings: Settings = make_settings(**overrides)
        app = create_app(settings)
        server = ThreadedServer(app)
        server.start()
        servers.append(server)
        return Served(server.url, app, settings)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=LIVE_TIMEOUT) as client:
        yield client


async def cookie_user(
    http: httpx.AsyncClient, served: Served, *, admin: bool = False
) -> dict[str, str]:
    """A new account, signed in as the dashboard signs in: its token in the session cookie.
    Returns headers that act as it, for the API and for the pages."""
    email = new_email()
    if admin:
        engine = make_engine(served.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await create_user(session, email=email, password=PASSWORD, is_admin=True)
        finally:
            await engine.dispose()
    else:
        response = await http.post(
            f"{served.url}/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
    response = await http.post(
        f"{served.url}/api/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Cookie": f"session={token}"}


async def new_link(http: httpx.AsyncClient, served: Served, headers: dict[str, str]) -> Any:
    response = await http.post(
        f"{served.url}/api/links", json={"url": "https://example.com/page"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def watched_link(http: httpx.AsyncClient, served: Served) -> tuple[dict[str, str], str, str]:
    """A new cookie user and link of theirs: (their headers, the link's key, its feed URL)."""
    owner = await cookie_user(http, served)
    link = await new_link(http, served, owner)
    return owner, link["key"], f"{served.url}/dashboard/links/{link['key']}/live"
