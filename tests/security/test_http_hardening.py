"""Body size limit, security headers, CORS, and no internals in error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shortener.auth.deps import current_principal
from shortener.main import create_app
from tests.conftest import BASE_URL
from tests.factories import make_link, make_user

MiB = 1024 * 1024


class Source:
    """A request body that streams `total` bytes and remembers how many were pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total = total
        self.chunk = chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            piece = b" " * min(self.chunk, self.total - self.sent)
            self.sent += len(piece)
            yield piece


async def test_a_declared_oversize_body_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    headers = await make_user(client)
    body = b'{"url": "https://example.com/' + b"a" * (5 * MiB) + b'"}'
    r = await client.post(
        "/api/links", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "too large" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/links", "/api/auth/register", "/somekey"])
async def test_a_streamed_oversize_body_is_cut_off_while_streaming(
    client: httpx.AsyncClient, path: str
) -> None:
    headers = await make_user(client)
    if path == "/somekey":
        await make_link(client, headers, alias="somekey", password="sesame")
    source = Source(10 * MiB)
    r = await client.post(
        path, content=source, headers={**headers, "content-type": "application/json"}
    )
    if path == "/somekey":
        # The password form reads at most 4 KiB and calls anything longer a wrong password.
        assert r.status_code == 403
    else:
        assert r.status_code == 413, r.text
        assert "too large" in r.json()["detail"]
    assert source.sent < 2 * MiB  # refused on the way, not after reading 10 MiB


async def test_bodies_under_the_limit_pass(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    r = await client.post(
        "/api/links", json={"url": "https://example.com/", "title": "t" * 300}, headers=headers
    )
    assert r.status_code == 201


async def test_a_bad_content_length_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/register", headers={"content-length": "lots"}, content=b"")
    assert r.status_code == 400
    assert r.json()["detail"]


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "frame-ancestors 'none'",
}


async def test_security_headers_on_every_kind_of_answer(client: httpx.AsyncClient) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="hdr")
    await make_link(client, headers, alias="locked", password="sesame")
    answers = [
        await client.get("/hdr"),  # the pure-ASGI redirect
        await client.head("/hdr"),
        await client.get("/nope-nope"),  # 404 from the redirect path
        await client.get("/locked"),  # password form
        await client.get("/api/links", headers=headers),
        await client.get("/api/links"),  # 401
        await client.post("/api/links", json={}, headers=headers),  # 422
        await client.get("/healthz"),
        await client.get("/docs"),
        await client.get("/openapi.json"),
        await client.get("/api/no/such/route"),
    ]
    for response in answers:
        for name, value in SECURITY_HEADERS.items():
            got = response.headers.get(name)
            if name == "content-security-policy" and got != value:
                # HTML pages carry the dashboard's full page policy, which includes this one.
                assert response.headers["content-type"].startswith("text/html")
                assert value in got.split("; "), (response.request.url, got)
            else:
                assert got == value, (response.request.url, name)
            assert len(response.headers.get_list(name)) == 1, (response.request.url, name)


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/api/links",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers
    r = await client.get("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_cors_allows_exactly_the_configured_origins(make_settings) -> None:
    app = create_app(make_settings(cors_origins="https://app.example"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            preflight = {"access-control-request-method": "POST"}
            ok = await client.options(
                "/api/links", headers={"origin": "https://app.example", **preflight}
            )
            assert ok.status_code == 200
            assert ok.headers["access-control-allow-origin"] == "https://app.example"
            bad = await client.options(
                "/api/links", headers={"origin": "https://evil.example", **preflight}
            )
            assert bad.status_code == 400
            assert "access-control-allow-origin" not in bad.headers
            simple = await client.get("/healthz", headers={"origin": "https://app.example"})
            assert simple.headers["access-control-allow-origin"] == "https://app.example"


async def test_an_unexpected_error_is_a_bare_500(app, caplog: pytest.LogCaptureFixture) -> None:
    """No traceback, SQL or exception text reaches the client; the log has it all."""

    async def broken() -> None:
        raise RuntimeError("SELECT password_hash FROM users -- secret internals")

    app.dependency_overrides[current_principal] = broken  # what /api/users/me depends on
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        r = await client.get("/api/users/me")
        assert r.status_code == 500
        assert r.json() == {"detail": "internal error"}
        assert r.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/healthz")).status_code == 200
    assert "secret internals" in caplog.text
    app.dependency_overrides.clear()


async def test_an_unreachable_database_is_a_bare_503(make_settings) -> None:
    """The redirect shortcut runs outside FastAPI's handlers; the API inside them. Neither
    leaks the connection error (host, user) when the database cannot be reached."""
    app = create_app(make_settings(database_url="postgresql://dbuser@127.0.0.1:1/nowhere"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for response in (
                await client.get("/anykey"),
                await client.post(
                    "/api/auth/register", json={"email": "a@b.example", "password": "x" * 9}
                ),
            ):
                assert response.status_code == 503
                assert response.json() == {"detail": "service unavailable; try again shortly"}
                assert response.headers["retry-after"] == "5"
                assert "dbuser" not in response.text and "5432" not in response.text
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 503
