"""PATCH /api/links/{key} with {"key": ...}: the alias rules, 409 when taken, the old key gone
at once, the clicks and statistics kept."""

from __future__ import annotations

import pytest

from tests.clicks.traffic import visit, wait_written
from tests.factories import make_link, make_user


async def _rekey(client, headers, key: str, new: object):
    return await client.patch(f"/api/links/{key}", json={"key": new}, headers=headers)


async def test_the_new_key_redirects_the_old_one_is_gone_the_clicks_stay(app, client) -> None:
    headers = await make_user(client)
    link = await make_link(client, headers, alias="before", url="https://example.com/t")
    for _ in range(2):
        await visit(client, "before")
    await wait_written(app, 2)
    assert (await client.get("/before")).status_code == 302  # cached in this worker now

    answer = await _rekey(client, headers, "before", "after-1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["key"] == "after-1" and body["short_url"].endswith("/after-1")
    assert body["clicks"] == 2 and body["created_at"] == link["created_at"]

    assert (await client.get("/before")).status_code == 404
    moved = await client.get("/after-1")
    assert (moved.status_code, moved.headers["location"]) == (302, "https://example.com/t")
    stats = (await client.get("/api/links/after-1/stats", headers=headers)).json()
    assert stats["total_clicks"] == 2
    assert (await client.get("/api/links/before", headers=headers)).status_code == 404


async def test_a_key_taken_on_the_domain_is_409_and_nothing_changes(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="mine-a", title="a")
    other = await make_user(client)
    await make_link(client, other, alias="theirs")  # keys are unique across accounts too
    for taken in ("theirs",):
        answer = await client.patch(
            "/api/links/mine-a", json={"key": taken, "title": "changed"}, headers=headers
        )
        assert answer.status_code == 409, answer.text
        assert "theirs" in answer.json()["detail"]
    kept = (await client.get("/api/links/mine-a", headers=headers)).json()
    assert (kept["key"], kept["title"]) == ("mine-a", "a")
    assert (await client.get("/theirs")).status_code == 302


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ("ab", "3-64 characters"),
        ("has space", "3-64 characters"),
        ("dashboard", "reserved"),
        (None, "cannot be null"),
        ("x" * 65, "64"),
    ],
)
async def test_the_alias_rules_apply(client, new, words) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="stays")
    answer = await _rekey(client, headers, "stays", new)
    assert answer.status_code == 422, answer.text
    assert words in answer.text
    assert (await client.get("/stays")).status_code == 302


async def test_the_same_key_is_no_change(client) -> None:
    headers = await make_user(client)
    await make_link(client, headers, alias="same-key")
    answer = await _rekey(client, headers, "same-key", "same-key")
    assert (answer.status_code, answer.json()["key"]) == (200, "same-key")
    assert (await client.get("/same-key")).status_code == 302
