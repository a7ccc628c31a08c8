from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import pytest

from tests.factories import eventually, make_link, make_user
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    # The receiver listens on 127.0.0.1; retries come quickly.
    return make_settings(
        allow_private_webhooks=True,
        webhook_retry_base=0.05,
        webhook_poll_interval=0.05,
        webhook_max_attempts=3,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()


async def register(client, headers, url: str, *events: str) -> dict:
    response = await client.post(
        "/api/webhooks", json={"url": url, "events": list(events)}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def verify(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


async def deliveries(client, headers, hook_id: int) -> list[dict]:
    response = await client.get(f"/api/webhooks/{hook_id}/deliveries", headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_register_list_delete(client, receiver) -> None:
    headers = await make_user(client)
    url = await receiver.start()
    hook = await register(client, headers, url, "link.created", "link.deleted")
    assert hook["secret"].startswith("whsec_")
    assert hook["events"] == ["link.created", "link.deleted"]
    listed = (await client.get("/api/webhooks", headers=headers)).json()
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    other = await make_user(client)
    assert (
        await client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=other)
    ).status_code == 404
    assert (await client.delete(f"/api/webhooks/{hook['id']}", headers=other)).status_code == 404
    assert (await client.delete(f"/api/webhooks/{hook['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"/api/webhooks/{hook['id']}", headers=headers)).status_code == 404


async def test_bad_bodies_are_422(client) -> None:
    headers = await make_user(client)
    for body in (
        {"url": "http://127.0.0.1/x", "events": []},
        {"url": "http://127.0.0.1/x", "events": ["link.exploded"]},
        {"url": "ftp://127.0.0.1/x", "events": ["link.created"]},
        {"url": "http://user:pw@127.0.0.1/x", "events": ["link.created"]},
        {"url": "http://short.test/x", "events": ["link.created"]},
        {"events": ["link.created"]},
    ):
        response = await client.post("/api/webhooks", json=body, headers=headers)
        assert response.status_code == 422, body


async def test_link_events_are_signed_and_logged(client, receiver) -> None:
    headers = await make_user(client)
    url = await receiver.start()
    hook = await register(client, headers, url, "link.created", "link.updated", "link.deleted")
    await make_link(client, headers, alias="hooked", tags=["t"])
    await client.patch("/api/links/hooked", json={"title": "New"}, headers=headers)
    await client.delete("/api/links/hooked", headers=headers)

    async def three() -> bool:
        return len(receiver.received) >= 3

    await eventually(three)
    events = [json.loads(r.body) for r in receiver.received]
    assert sorted(e["event"] for e in events) == ["link.created", "link.deleted", "link.updated"]
    for request, event in zip(receiver.received, events, strict=True):
        assert request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-shortener-event"] == event["event"]
        assert verify(hook["secret"], request.headers["x-shortener-signature"], request.body)
        assert not verify("whsec_wrong", request.headers["x-shortener-signature"], request.body)
        assert event["data"]["key"] == "hooked"
    updated = next(e for e in events if e["event"] == "link.updated")
    assert updated["data"]["title"] == "New"
    assert updated["data"]["tags"] == ["t"]

    async def logged() -> bool:
        log = await deliveries(client, headers, hook["id"])
        return len(log) == 3 and all(d["status"] == "delivered" for d in log)

    await eventually(logged)
    for d in await deliveries(client, headers, hook["id"]):
        assert (d["status_code"], d["attempts"]) == (200, 1)
        assert d["delivered_at"] is not None


async def test_only_subscribed_events_of_the_owner_are_sent(client, receiver) -> None:
    alice = await make_user(client)
    bob = await make_user(client)
    url = await receiver.start()
    hook = await register(client, alice, url, "link.deleted")
    await make_link(client, alice, alias="a-created")  # not subscribed
    await make_link(client, bob, alias="b-created")
    await client.delete("/api/links/b-created", headers=bob)  # not alice's
    await client.delete("/api/links/a-created", headers=alice)

    async def one() -> bool:
        return len(await deliveries(client, alice, hook["id"])) == 1

    await eventually(one)
    await eventually(lambda: _received(receiver, 1))
    assert json.loads(receiver.received[0].body)["data"]["key"] == "a-created"


async def _received(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def test_failures_are_retried_then_given_up(client, receiver) -> None:
    headers = await make_user(client)
    receiver.fail_first = 2
    url = await receiver.start()
    hook = await register(client, headers, url, "link.created")
    await make_link(client, headers, alias="retried")

    async def delivered() -> bool:
        log = await deliveries(client, headers, hook["id"])
        return bool(log) and log[0]["status"] == "delivered"

    await eventually(delivered)
    (entry,) = await deliveries(client, headers, hook["id"])
    assert (entry["attempts"], entry["status_code"]) == (3, 200)
    assert len(receiver.received) == 3
    # Every attempt carries the same body, each signed afresh.
    assert len({r.body for r in receiver.received}) == 1

    # A receiver that always fails: after max_attempts (3 here) the delivery is failed.
    receiver.fail_first = 1000
    await make_link(client, headers, alias="doomed")

    async def failed() -> bool:
        log = await deliveries(client, headers, hook["id"])
        return log[0]["status"] == "failed"

    await eventually(failed)
    newest = (await deliveries(client, headers, hook["id"]))[0]
    assert (newest["attempts"], newest["status_code"]) == (3, 500)
    assert "500" in newest["last_error"]
    assert newest["delivered_at"] is None


async def test_replay(client, receiver) -> None:
    headers = await make_user(client)
    url = await receiver.start()
    hook = await register(client, headers, url, "link.created")
    await make_link(client, headers, alias="replayed")
    await eventually(lambda: _received(receiver, 1))

    async def delivered() -> bool:
        log = await deliveries(client, headers, hook["id"])
        return bool(log) and log[0]["status"] == "delivered"

    await eventually(delivered)
    (original,) = await deliveries(client, headers, hook["id"])
    response = await client.post(
        f"/api/webhooks/{hook['id']}/deliveries/{original['id']}/replay", headers=headers
    )
    assert response.status_code == 202, response.text
    assert response.json()["id"] != original["id"]
    await eventually(lambda: _received(receiver, 2))
    assert receiver.received[0].body == receiver.received[1].body
    assert receiver.received[1].headers["x-shortener-delivery"] == str(response.json()["id"])
    missing = await client.post(
        f"/api/webhooks/{hook['id']}/deliveries/999999/replay", headers=headers
    )
    assert missing.status_code == 404


async def test_clicks_are_batched_per_link(client, receiver) -> None:
    headers = await make_user(client)
    url = await receiver.start()
    await register(client, headers, url, "link.clicked")
    await make_link(client, headers, alias="clicky")
    for _ in range(3):
        assert (await client.get("/clicky")).status_code == 302

    async def counted() -> bool:
        total = sum(json.loads(r.body)["data"]["clicks"] for r in receiver.received)
        return total == 3

    await eventually(counted)
    for request in receiver.received:
        event = json.loads(request.body)
        assert event["event"] == "link.clicked"
        assert event["data"]["key"] == "clicky"
    # One event per link per flushed batch, not one per click (3 clicks, at most 3 batches).
    assert len(receiver.received) <= 3


async def test_api_key_scopes(client, receiver) -> None:
    headers = await make_user(client)
    url = await receiver.start()

    async def key(*scopes: str) -> dict[str, str]:
        body = {"name": "k", "scopes": list(scopes)}
        made = await client.post("/api/keys", json=body, headers=headers)
        return {"X-API-Key": made.json()["key"]}

    reader = await key("links:read")
    writer = await key("links:write")
    both = await key("links:write", "stats:read")
    body = {"url": url, "events": ["link.created"]}
    assert (await client.post("/api/webhooks", json=body, headers=reader)).status_code == 403
    assert (await client.post("/api/webhooks", json=body, headers=writer)).status_code == 201
    clicked = {"url": url, "events": ["link.clicked"]}
    denied = await client.post("/api/webhooks", json=clicked, headers=writer)
    assert denied.status_code == 403
    assert "stats:read" in denied.json()["detail"]
    assert (await client.post("/api/webhooks", json=clicked, headers=both)).status_code == 201
    assert len((await client.get("/api/webhooks", headers=reader)).json()) == 2


async def test_a_changed_key_is_a_link_updated_event_naming_the_previous_key(
    client, receiver
) -> None:
    headers = await make_user(client)
    url = await receiver.start()
    await register(client, headers, url, "link.updated")
    await make_link(client, headers, alias="old-name")
    answer = await client.patch("/api/links/old-name", json={"key": "new-name"}, headers=headers)
    assert answer.status_code == 200, answer.text
    await eventually(lambda: _received(receiver, 1))
    event = json.loads(receiver.received[0].body)
    assert event["event"] == "link.updated"
    assert (event["data"]["key"], event["data"]["previous_key"]) == ("new-name", "old-name")
