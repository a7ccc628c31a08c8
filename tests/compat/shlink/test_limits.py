"""Shlink's API creates links under the same budget as ours (RATE_LIMIT_LINKS_USER)."""

from __future__ import annotations

import httpx
import pytest

from tests.compat.shlink.helpers import api_key, assert_problem
from tests.factories import make_user


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(
        rate_limits_enabled=True,
        rate_limit_links_user="3/1h",
        rate_limit_links_ip="10000/1h",
        rate_limit_register_ip="10000/1h",
        rate_limit_login_ip="10000/1h",
    )


async def test_shlink_creates_draw_on_the_links_budget(client: httpx.AsyncClient) -> None:
    bearer = await make_user(client)
    key = await api_key(client, bearer=bearer)
    ours = await client.post("/api/links", json={"url": "https://e.com/0"}, headers=bearer)
    assert ours.status_code == 201
    for i in (1, 2):
        made = await client.post(
            "/rest/v3/short-urls", json={"longUrl": f"https://e.com/{i}"}, headers=key
        )
        assert made.status_code == 200, made.text
    refused = await client.get(
        "/rest/v3/short-urls/shorten",
        params={"apiKey": key["X-Api-Key"], "longUrl": "https://e.com/3"},
    )
    body = assert_problem(refused, 429, "too-many-requests")
    assert "RATE_LIMIT_LINKS_USER" in str(body["detail"])
    assert refused.headers["retry-after"]
