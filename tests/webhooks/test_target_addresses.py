"""One classification of addresses (shortener.addresses) behind the webhook SSRF guard."""

from __future__ import annotations

import ipaddress

import pytest

from shortener.addresses import Kind, classify, is_this_machine
from shortener.urls import parse_web_url
from shortener.webhooks.targets import pinned_to
from tests.factories import make_user

# Forms that reach loopback or a private network without looking like it.
REFUSED = [
    "http://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
    "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64
    "http://192.0.0.8/hook",  # IETF protocol assignments
    "http://0x7f000001/hook",
    "http://127.0.0.%31/hook",
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://198.18.0.1/hook",
    "http://[fec0::1]/hook",
]


async def test_disguised_private_targets_are_refused(client) -> None:
    headers = await make_user(client)
    for url in REFUSED:
        response = await client.post(
            "/api/webhooks", json={"url": url, "events": ["link.created"]}, headers=headers
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "url"]
    assert (await client.get("/api/webhooks", headers=headers)).json() == []


async def test_the_stored_webhook_url_is_the_normalised_one(client) -> None:
    headers = await make_user(client)
    response = await client.post(
        "/api/webhooks",
        json={"url": "HTTPS://0x5DB8D70E:443/hook", "events": ["link.deleted"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["url"] == "https://93.184.215.14/hook"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", Kind.PUBLIC),
        ("2606:4700:4700::1111", Kind.PUBLIC),
        ("64:ff9b::808:808", Kind.PUBLIC),  # NAT64 of a public address
        ("::ffff:8.8.8.8", Kind.PUBLIC),
        ("127.9.9.9", Kind.LOOPBACK),
        ("::1", Kind.LOOPBACK),
        ("::7f00:1", Kind.LOOPBACK),
        ("::ffff:7f00:1", Kind.LOOPBACK),
        ("64:ff9b::7f00:1", Kind.LOOPBACK),
        ("0.0.0.0", Kind.UNSPECIFIED),
        ("::", Kind.UNSPECIFIED),
        ("0.1.2.3", Kind.THIS_NETWORK),
        ("10.1.1.1", Kind.PRIVATE),
        ("::ffff:192.168.1.1", Kind.PRIVATE),
        ("100.64.0.1", Kind.SHARED),
        ("169.254.169.254", Kind.LINK_LOCAL),
        ("fe80::1", Kind.LINK_LOCAL),
        ("fd00::1", Kind.UNIQUE_LOCAL),
        ("192.0.0.8", Kind.PROTOCOL),
        ("192.0.0.9", Kind.PROTOCOL),
        ("2001::1", Kind.PROTOCOL),  # Teredo
        ("192.0.2.1", Kind.DOCUMENTATION),
        ("2001:db8::1", Kind.DOCUMENTATION),
        ("198.19.0.1", Kind.BENCHMARKING),
        ("64:ff9b:1::808:808", Kind.LOCAL_NAT64),
        ("64:ff9b:1:2::1", Kind.LOCAL_NAT64),
        ("224.0.0.1", Kind.MULTICAST),
        ("ff02::1", Kind.MULTICAST),
        ("255.255.255.255", Kind.RESERVED),
        ("::8.8.8.8", Kind.RESERVED),  # deprecated IPv4-compatible form
        ("100::1", Kind.RESERVED),
        ("4000::1", Kind.RESERVED),  # outside global unicast 2000::/3
    ],
)
def test_classify(address: str, kind: Kind) -> None:
    assert classify(ipaddress.ip_address(address)) is kind


def test_only_loopback_and_unspecified_are_this_machine() -> None:
    assert is_this_machine(ipaddress.ip_address("::ffff:127.0.0.2"))
    assert is_this_machine(ipaddress.ip_address("0.0.0.0"))
    assert not is_this_machine(ipaddress.ip_address("10.0.0.1"))  # an intranet link is fine


def test_a_pinned_request_names_the_checked_host() -> None:
    target = parse_web_url("https://u:p@Hooks.EXAMPLE:8443/h?x=1#frag")
    pinned = pinned_to(target, ipaddress.ip_address("2606:4700::1"))
    assert pinned.url == "https://[2606:4700::1]:8443/h?x=1"
    assert pinned.headers == {"Host": "hooks.example:8443"}
    assert pinned.extensions == {"sni_hostname": "hooks.example"}
    plain = pinned_to(parse_web_url("http://hooks.example/h"), ipaddress.ip_address("8.8.8.8"))
    assert (plain.url, plain.headers, plain.extensions) == (
        "http://8.8.8.8/h",
        {"Host": "hooks.example"},
        {},
    )
