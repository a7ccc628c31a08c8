"""Without ALLOW_PRIVATE_WEBHOOKS, webhooks cannot reach loopback or private networks."""

from __future__ import annotations

import ipaddress

import pytest

from shortener.webhooks.targets import TargetRefused, is_blocked, pin_target
from tests.factories import make_user

REFUSED = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
]


async def test_private_targets_are_refused(client) -> None:
    headers = await make_user(client)
    for url in REFUSED:
        response = await client.post(
            "/api/webhooks", json={"url": url, "events": ["link.created"]}, headers=headers
        )
        assert response.status_code == 422, url
        assert response.json()["detail"][0]["loc"] == ["body", "url"]
    assert (await client.get("/api/webhooks", headers=headers)).json() == []


async def test_a_public_address_is_accepted(client) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/webhooks",
        json={"url": "https://93.184.215.14/hook", "events": ["link.deleted"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("127.0.0.2", True),
        ("172.16.5.4", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("224.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("240.0.0.1", True),
    ],
)
def test_is_blocked(address: str, blocked: bool) -> None:
    assert is_blocked(ipaddress.ip_address(address)) is blocked


async def test_names_are_checked_on_what_they_resolve_to_at_send_time() -> None:
    # "localhost" is a name, not an address: refused for what it resolves to.
    with pytest.raises(TargetRefused):
        await pin_target("http://localhost:9/x", allow_private=False)
    pinned = await pin_target("http://localhost:9/x", allow_private=True)
    assert pinned.url == "http://localhost:9/x"
    public = await pin_target("https://93.184.215.14/x?q=1", allow_private=False)
    assert public.url == "https://93.184.215.14/x?q=1"
