"""Property-based fuzzing of the whole API from its own OpenAPI description (schemathesis).

A real server (uvicorn in a thread), an administrator's bearer token (so every route is
reachable), a bounded number of examples per operation. Checks: no 5xx, and every response
matches the schema the API publishes, with a status it documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from shortener.cli import _insert_user
from shortener.main import create_app
from tests.factories import PASSWORD, new_email
from tests.processes import ThreadedServer

EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def live_server(settings) -> Iterator[ThreadedServer]:  # type: ignore[no-untyped-def]
    server = ThreadedServer(create_app(settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api_schema(live_server: ThreadedServer):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")


@pytest.fixture
def admin_headers(settings, live_server: ThreadedServer) -> dict[str, str]:  # type: ignore[no-untyped-def]
    email = new_email()
    assert asyncio.run(_insert_user(settings, email, PASSWORD, True)) == 0
    r = httpx.post(
        f"{live_server.url}/api/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_fuzz(case, live_server: ThreadedServer, admin_headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        base_url=live_server.url,
        headers=admin_headers,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
