"""SHORT_URL_MODE=loose: keys compare case-insensitively; switching refuses clashing keys."""

from __future__ import annotations

import asyncio

import pytest

from shortener.config import ConfigError
from shortener.migrate import apply_key_mode
from tests.factories import make_link, make_user, running


async def test_loose_keys_are_stored_lower_cased_and_found_in_any_case(make_settings) -> None:
    async with running(make_settings(short_url_mode="loose")) as (_, client):
        user = await make_user(client)
        link = await make_link(client, user, alias="MixedCase")
        assert link["key"] == "mixedcase"
        assert (await client.get("/MIXEDcase")).headers["location"] == "https://example.com/page"
        assert (await client.get("/api/links/MixedCASE", headers=user)).status_code == 200
        taken = await client.post(
            "/api/links", json={"url": "https://example.com/", "alias": "MIXEDCASE"}, headers=user
        )
        assert taken.status_code == 409
        for _ in range(5):
            random_key = (await make_link(client, user))["key"]
            assert random_key == random_key.lower()


async def test_strict_keys_stay_case_sensitive(client) -> None:
    user = await make_user(client)
    await make_link(client, user, alias="Strict", url="https://example.com/upper")
    await make_link(client, user, alias="strict", url="https://example.com/lower")
    assert (await client.get("/Strict")).headers["location"] == "https://example.com/upper"
    assert (await client.get("/strict")).headers["location"] == "https://example.com/lower"
    assert (await client.get("/STRICT")).status_code == 404


async def test_switching_to_loose_refuses_keys_that_differ_only_by_case(client, settings) -> None:
    user = await make_user(client)
    await make_link(client, user, alias="Report")
    await make_link(client, user, alias="report")
    await make_link(client, user, alias="Other")
    with pytest.raises(ConfigError) as refused:
        await asyncio.to_thread(apply_key_mode, settings.database_url, "loose")
    assert "'Report', 'report' (default domain)" in str(refused.value)
    assert "Other" not in str(refused.value)
    assert await asyncio.to_thread(apply_key_mode, settings.database_url, "strict") == 0
    await client.delete("/api/links/report", headers=user)
    assert await asyncio.to_thread(apply_key_mode, settings.database_url, "loose") == 2
    keys = {i["key"] for i in (await client.get("/api/links", headers=user)).json()["items"]}
    assert keys == {"report", "other"}
