"""POST /api/auth/register: the 201 shape, duplicates, and every way a body can be wrong."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.factories import PASSWORD, new_email


async def test_register_answers_201_with_the_public_shape(client) -> None:
    email = new_email()
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "email", "created_at"}
    assert isinstance(body["id"], int)
    assert body["email"] == email
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None


async def test_email_is_stored_lowercase(client) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": "Mixed.Case@Example.COM", "password": PASSWORD}
    )
    assert response.status_code == 201
    assert response.json()["email"] == "mixed.case@example.com"


async def test_duplicate_email_is_409(client) -> None:
    email = new_email()
    first = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert first.status_code == 201
    again = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


async def test_duplicate_email_in_another_case_is_409(client) -> None:
    email = new_email()
    await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    again = await client.post(
        "/api/auth/register", json={"email": email.upper(), "password": PASSWORD}
    )
    assert again.status_code == 409


async def test_concurrent_registrations_of_one_email_give_one_account(client) -> None:
    import asyncio

    email = new_email()
    answers = await asyncio.gather(
        *(
            client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
            for _ in range(2)
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 409]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "short@example.com", "password": "seven77"},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "a@b", "password": PASSWORD},
        {"email": "x" * 320 + "@example.com", "password": PASSWORD},
        {"email": "nopassword@example.com"},
        {"password": PASSWORD},
        {},
        {"email": 42, "password": PASSWORD},
        {"email": "typed@example.com", "password": 12345678},
        {"email": "extra@example.com", "password": PASSWORD, "is_admin": True},
        {"email": "long@example.com", "password": "p" * 1025},
    ],
    ids=[
        "short-password",
        "bad-email",
        "email-without-tld",
        "email-too-long",
        "no-password",
        "no-email",
        "empty",
        "email-number",
        "password-number",
        "unknown-field",
        "password-too-long",
    ],
)
async def test_invalid_bodies_are_422(client, body) -> None:
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_malformed_json_is_422(client) -> None:
    response = await client.post(
        "/api/auth/register",
        content=b'{"email": "a@example.com", "password": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_wrong_content_type_is_422(client) -> None:
    response = await client.post(
        "/api/auth/register", data={"email": new_email(), "password": PASSWORD}
    )
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_json_that_is_not_an_object_is_422(client) -> None:
    for raw in (b"[]", b'"text"', b"null", b"1"):
        response = await client.post(
            "/api/auth/register", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, (raw, response.text)


async def test_a_rejected_registration_creates_no_account(client) -> None:
    email = new_email()
    bad = await client.post("/api/auth/register", json={"email": email, "password": "short"})
    assert bad.status_code == 422
    token = await client.post("/api/auth/token", data={"username": email, "password": "short"})
    assert token.status_code == 401


async def test_nul_characters_are_refused_not_5xx(client) -> None:
    register = await client.post(
        "/api/auth/register", json={"email": "nul\x00@example.com", "password": PASSWORD}
    )
    assert register.status_code == 422
    token = await client.post(
        "/api/auth/token", data={"username": "nul\x00@example.com", "password": PASSWORD}
    )
    assert token.status_code == 401
    assert token.json()["detail"]
