"""Property-based fuzzing of the whole API from its own OpenAPI description (schemathesis).

A real server (uvicorn in a thread), an administrator's bearer token (so every route is
reachable), a bounded number of examples per operation. Checks: no 5xx, and every response
matches the schema the API publishes, with a status it documents.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date, datetime

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from shortener.cli import _insert_user
from shortener.main import create_app
from tests.conftest import LIVE_TIMEOUT
from tests.factories import PASSWORD, new_email
from tests.processes import ThreadedServer

EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def live_server(settings) -> Iterator[ThreadedServer]:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    # Built once here, not on schemathesis' first request: on a busy machine building the
    # document (70 operations with Shlink's) can outlast the loader's 10-second timeout.
    app.openapi()
    server = ThreadedServer(app)
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
        f"{live_server.url}/api/auth/token",
        data={"username": email, "password": PASSWORD},
        timeout=LIVE_TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# Shlink's API (/rest/) is fuzzed on its own, with its own time budget: tests/compat/shlink.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex="^/rest/")


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
        timeout=LIVE_TIMEOUT,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


# ---- every date field and every text field, with hypothesis -----------------------------
# schemathesis draws dates and strings that fit the published schema (or break it
# obviously); these draw what the adversarial pass found: moments at the ends of the
# calendar in every time zone, and text with any character at all.

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
CSV_HEADER = "key,url,title,tags,created_at,expires_at,max_clicks,redirect_type,is_active,clicks"


def _offsets() -> st.SearchStrategy[str]:
    minutes = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1)
    return st.one_of(
        st.just(""),
        st.just("Z"),
        minutes.map(lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"),
    )


EDGES = [datetime.min, datetime.max, datetime(1, 1, 2), datetime(9999, 12, 30, 23, 59, 59)]
moments = st.one_of(
    st.dates().map(date.isoformat),
    st.tuples(
        st.one_of(st.sampled_from(EDGES), st.datetimes()).map(lambda d: d.isoformat()),
        _offsets(),
    ).map("".join),
)


@pytest.fixture
def signed_in(live_server: ThreadedServer) -> Iterator[tuple[httpx.Client, str]]:
    """A dashboard session (cookies and a CSRF token) and a bearer token, on one client."""
    with httpx.Client(base_url=live_server.url, timeout=LIVE_TIMEOUT) as client:
        token = TOKEN.search(client.get("/register").text)
        assert token
        email = new_email()
        form = {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
        assert client.post("/register", data=form).status_code == 303
        r = client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        csrf = TOKEN.search(client.get("/dashboard").text)
        assert csrf
        yield client, csrf.group(1)


def _no_5xx(r: httpx.Response) -> httpx.Response:
    assert r.status_code < 500, (r.request.method, str(r.request.url), r.text[:300])
    return r


def test_every_date_field_answers_any_moment_without_a_5xx(
    signed_in: tuple[httpx.Client, str],
) -> None:
    client, csrf = signed_in
    key = _no_5xx(client.post("/api/links", json={"url": "https://e.com/"})).json()["key"]

    @FUZZ
    @given(moment=moments)
    def check(moment: str) -> None:
        new = {"url": "https://e.com/", "expires_at": moment}
        for r in (
            client.post("/api/links", json=new),
            client.patch(f"/api/links/{key}", json={"expires_at": moment}),
            client.post("/api/links/bulk", json={"links": [new]}),
            client.post("/dashboard/links", data={**new, "csrf_token": csrf}),
        ):
            if _no_5xx(r).status_code == 422 and r.request.url.path.startswith("/api"):
                assert r.json()["detail"]
        for path in ("/api/stats", f"/api/links/{key}/stats"):
            for name in ("from", "to"):
                _no_5xx(client.get(path, params={name: moment}))
            _no_5xx(client.get(path, params={"from": moment, "to": moment, "interval": "hour"}))
        row = f"\r\n,https://e.com/,,,{moment},{moment},,302,true,0\r\n"
        files = {"file": ("l.csv", CSV_HEADER + row, "text/csv")}
        _no_5xx(client.post("/api/links/import", files=files))
        day = moment[:10]
        _no_5xx(client.get("/dashboard", params={"window": "custom", "from": day, "to": day}))

    check()


# The text fields of a link; the searches and an API key's name are tried below them.
TEXT_FIELDS = ["title", "og_title", "og_description", "tags"]


def test_every_text_field_keeps_the_text_rule(
    signed_in: tuple[httpx.Client, str], admin_headers: dict[str, str]
) -> None:
    client, _csrf = signed_in
    key = _no_5xx(client.post("/api/links", json={"url": "https://e.com/"})).json()["key"]

    @FUZZ
    @given(text=st.text(max_size=40))
    def check(text: str) -> None:
        for name in TEXT_FIELDS:
            value: object = [text] if name == "tags" else text
            for r in (
                client.post("/api/links", json={"url": "https://e.com/", name: value}),
                client.patch(f"/api/links/{key}", json={name: value}),
            ):
                if _no_5xx(r).status_code < 300:
                    stored = r.json()[name]
                    for item in stored if isinstance(stored, list) else [stored or ""]:
                        allowed = "\t\n\r" if name == "og_description" else ""
                        assert all(
                            c in allowed or not (c < " " or "\x7f" <= c <= "\x9f") for c in item
                        ), (name, item)
        for path, params in (
            ("/api/links", {"q": text}),
            ("/api/links", {"tag": text}),
            ("/dashboard", {"q": text}),
        ):
            _no_5xx(client.get(path, params=params))
        _no_5xx(client.get("/api/admin/users", params={"q": text}, headers=admin_headers))
        _no_5xx(client.post("/api/keys", json={"name": text, "scopes": ["links:read"]}))

    check()
