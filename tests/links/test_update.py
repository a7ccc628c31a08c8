"""PATCH and DELETE /api/links/{key}: each field, clearing, and the very next redirect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_link, make_user


async def _patch(client, headers, key, body):
    return await client.patch(f"/api/links/{key}", json=body, headers=headers)


async def test_patch_each_field(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    key = link["key"]
    expires = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    changes = {
        "url": "https://example.com/new",
        "title": "new title",
        "expires_at": expires.isoformat(),
        "max_clicks": 7,
        "password": "letmein",
        "redirect_type": 308,
        "is_active": False,
        "tags": ["x", "y"],
    }
    for field, value in changes.items():
        response = await _patch(client, headers, key, {field: value})
        assert response.status_code == 200, (field, response.text)
    final = (await client.get(f"/api/links/{key}", headers=headers)).json()
    assert final["url"] == "https://example.com/new"
    assert final["title"] == "new title"
    assert datetime.fromisoformat(final["expires_at"]) == expires
    assert final["max_clicks"] == 7
    assert final["has_password"] is True
    assert final["redirect_type"] == 308
    assert final["is_active"] is False
    assert sorted(final["tags"]) == ["x", "y"]
    assert final["key"] == key
    assert datetime.fromisoformat(final["updated_at"]) > datetime.fromisoformat(link["updated_at"])
    assert final["created_at"] == link["created_at"]


async def test_patch_leaves_unsent_fields_alone(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, title="keep", tags=["t"], max_clicks=3)
    response = await _patch(client, headers, link["key"], {"redirect_type": 301})
    body = response.json()
    assert body["title"] == "keep" and body["tags"] == ["t"] and body["max_clicks"] == 3


async def test_null_clears_the_optional_fields(client) -> None:
    headers = await make_user(client)
    expires = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    link = await make_link(
        client, headers, title="t", expires_at=expires, max_clicks=5, password="pw", tags=["a"]
    )
    response = await _patch(
        client,
        headers,
        link["key"],
        {"title": None, "expires_at": None, "max_clicks": None, "password": None, "tags": []},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["title"] is None
    assert body["expires_at"] is None
    assert body["max_clicks"] is None
    assert body["has_password"] is False
    assert body["tags"] == []
    # No password any more: the redirect is direct.
    assert (await client.get(f"/{link['key']}")).status_code == 302


@pytest.mark.parametrize("field", ["url", "redirect_type", "is_active"])
async def test_null_for_a_required_field_is_422(client, field) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    response = await _patch(client, headers, link["key"], {field: None})
    assert response.status_code == 422
    assert response.json()["detail"]
    assert (await client.get(f"/api/links/{link['key']}", headers=headers)).json() == link


@pytest.mark.parametrize(
    "body",
    [
        {"alias": "renamed"},
        {"key_strategy": "md5"},
        {"key": "no"},  # a key can change (test_change_key.py), by the alias rules
        {"clicks": 1000},
        {"url": "ftp://example.com/"},
        {"url": "http://short.test/loop"},
        {"redirect_type": 303},
        {"max_clicks": 0},
        {"expires_at": "2000-01-01T00:00:00Z"},
        {"expires_at": "not a date"},
        {"is_active": "perhaps"},
        {"tags": ["ok", ""]},
        {"title": "t" * 301},
    ],
    ids=lambda body: next(iter(body)) + "=" + str(next(iter(body.values())))[:12],
)
async def test_bad_patches_are_422_and_change_nothing(client, body) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, alias="unchanged")
    response = await _patch(client, headers, "unchanged", body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert (await client.get("/api/links/unchanged", headers=headers)).json() == link


async def test_empty_patch_is_200(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    response = await _patch(client, headers, link["key"], {})
    assert response.status_code == 200
    assert response.json()["url"] == link["url"]


async def test_patch_unknown_key_is_404(client) -> None:
    headers = await make_user(client)
    assert (await _patch(client, headers, "nosuchkey", {"title": "x"})).status_code == 404


async def test_next_redirect_follows_a_url_change(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, url="https://example.com/old")
    key = link["key"]
    for _ in range(2):  # warm every cache layer
        assert (await client.get(f"/{key}")).headers["location"] == "https://example.com/old"
    await _patch(client, headers, key, {"url": "https://example.com/new"})
    assert (await client.get(f"/{key}")).headers["location"] == "https://example.com/new"


async def test_next_redirect_follows_deactivation_and_reactivation(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    key = link["key"]
    assert (await client.get(f"/{key}")).status_code == 302
    await _patch(client, headers, key, {"is_active": False})
    assert (await client.get(f"/{key}")).status_code == 410
    await _patch(client, headers, key, {"is_active": True})
    assert (await client.get(f"/{key}")).status_code == 302


async def test_next_redirect_follows_type_and_password_changes(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    key = link["key"]
    assert (await client.get(f"/{key}")).status_code == 302
    await _patch(client, headers, key, {"redirect_type": 301})
    assert (await client.get(f"/{key}")).status_code == 301
    await _patch(client, headers, key, {"password": "pw"})
    assert (await client.get(f"/{key}")).status_code == 200  # the password form


async def test_delete_then_the_key_is_gone(client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers)
    key = link["key"]
    assert (await client.get(f"/{key}")).status_code == 302  # cached now
    response = await client.delete(f"/api/links/{key}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/{key}")).status_code == 404
    assert (await client.get(f"/api/links/{key}", headers=headers)).status_code == 404
    assert (await client.delete(f"/api/links/{key}", headers=headers)).status_code == 404
    assert (await client.get("/api/links", headers=headers)).json()["total"] == 0


async def test_a_deleted_alias_can_be_taken_again(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="reuse", url="https://example.com/one")
    assert (await client.get("/reuse")).status_code == 302
    await client.delete("/api/links/reuse", headers=headers)
    await make_link(client, headers, alias="reuse", url="https://example.com/two")
    assert (await client.get("/reuse")).headers["location"] == "https://example.com/two"


async def test_creating_a_key_clears_its_negative_cache_entry(client) -> None:
    headers = await make_user(client)
    assert (await client.get("/soon-here")).status_code == 404  # remembered as unknown
    await make_link(client, headers, alias="soon-here")
    assert (await client.get("/soon-here")).status_code == 302
