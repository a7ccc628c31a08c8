"""X-Request-ID on every answer: API, pages, errors, and the redirect shortcut's answers."""

from __future__ import annotations

import re

import httpx

from tests.factories import make_link, make_user

GENERATED = re.compile(r"[0-9a-f]{12}-[0-9a-f]+")


async def _answers(client: httpx.AsyncClient) -> list[httpx.Response]:
    headers = await make_user(client)
    await make_link(client, headers, alias="plain")
    await make_link(client, headers, alias="locked", password="open sesame")
    await make_link(client, headers, alias="ended")
    r = await client.patch("/api/links/ended", json={"is_active": False}, headers=headers)
    assert r.status_code == 200
    return [
        # FastAPI's stack: success, auth, validation, not found, body limit, a page
        await client.get("/healthz"),
        await client.get("/api/users/me"),
        await client.post("/api/auth/register", json={"email": "x"}),
        await client.get("/api/links/nope", headers=headers),
        await client.post(
            "/api/links", content=b"x" * 2_000_000, headers={**headers, "content-type": "a/b"}
        ),
        await client.get("/login"),
        # the redirect shortcut: redirect, unknown, gone, password form, wrong password, 405
        await client.get("/plain"),
        await client.get("/missing"),
        await client.get("/ended"),
        await client.get("/locked"),
        await client.post("/locked", data={"password": "wrong"}),
        await client.post("/plain"),
    ]


async def test_every_answer_carries_a_generated_request_id(client: httpx.AsyncClient) -> None:
    answers = await _answers(client)
    assert [r.status_code for r in answers] == [
        *(200, 401, 422, 404, 413, 200),
        *(302, 404, 410, 200, 403, 405),
    ]
    ids = [r.headers.get("x-request-id", "") for r in answers]
    assert all(GENERATED.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    # One worker, one random prefix; the counter behind it tells the requests apart.
    assert len({i.split("-")[0] for i in ids}) == 1


async def test_a_safe_request_id_is_echoed_an_unsafe_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="plain")
    safe = [
        "3f2c9a1e-7b4d-4c1a-9e8f-0a1b2c3d4e5f",
        "Root=1-5759e988-bd862e3fe1be46a994272793",
        "a" * 128,
        "trace:abc/def+ghi.jk_l",
    ]
    unsafe = ["a" * 129, "two words", "<script>", "semi;colon", "quote'd", ""]
    for path in ("/healthz", "/plain", "/missing", "/api/links/nope"):
        for request_id in safe:
            r = await client.get(path, headers={"X-Request-ID": request_id})
            assert r.headers["x-request-id"] == request_id, (path, request_id)
        for request_id in unsafe:
            r = await client.get(path, headers={"X-Request-ID": request_id})
            assert GENERATED.fullmatch(r.headers["x-request-id"]), (path, request_id)
