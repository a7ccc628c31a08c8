"""URLs as people type them (issue 18, item 9): no scheme gets https://, spaces are encoded,
and the answer says what was done; other schemes stay refused."""

from __future__ import annotations

import pytest

from tests.factories import make_user


@pytest.mark.parametrize(
    ("given", "stored", "notes"),
    [
        ("example.com", "https://example.com/", ["https:// was added"]),
        ("//example.com/path", "https://example.com/path", ["https:// was added"]),
        ("example.com/a page", "https://example.com/a%20page", ["https://", "spaces"]),
        ("www.example.com:8080/x?q=1", "https://www.example.com:8080/x?q=1", ["https://"]),
        ("https://example.com/a b", "https://example.com/a%20b", ["spaces"]),
        ("https://example.com/", "https://example.com/", []),
    ],
)
async def test_urls_are_completed_and_the_answer_says_so(client, given, stored, notes) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    response = await client.post("/api/links", json={"url": given}, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == stored
    assert len(body["notes"]) == len(notes)
    for note, needle in zip(body["notes"], notes, strict=True):
        assert needle in note
    changed = await client.patch(
        f"/api/links/{body['key']}", json={"url": "example.org"}, headers=headers
    )
    assert changed.json()["url"] == "https://example.org/"
    assert "https://" in changed.json()["notes"][0]


@pytest.mark.parametrize(
    "given", ["javascript:alert(1)", "mailto:a@example.com", "ftp://x.example/", "nope"]
)
async def test_other_schemes_stay_refused(client, given) -> None:  # type: ignore[no-untyped-def]
    headers = await make_user(client)
    response = await client.post("/api/links", json={"url": given}, headers=headers)
    assert response.status_code == 422
    assert "only http and https" in str(response.json()["detail"])
