"""/dashboard/webhooks over HTTP (both storage modes): endpoints, the delivery log, replay."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import eventually
from tests.web.test_pages import HTML, csrf_of, page_token, register
from tests.webhooks.receiver import Receiver

SECRET = re.compile(r'<code id="new-secret">(whsec_[0-9a-f]+)</code>')
HOOK_ID = re.compile(r'action="/dashboard/webhooks/(\d+)/delete"')


@pytest.fixture
def settings(make_settings: Any) -> Any:
    # The receiver listens on 127.0.0.1; the dispatcher looks often.
    return make_settings(
        allow_private_webhooks=True, webhook_retry_base=0.05, webhook_poll_interval=0.05
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()


async def _create(client: httpx.AsyncClient, url: str, events: list[str]) -> httpx.Response:
    """The form posted as a browser does: an endpoint made is a 303 to the list, followed."""
    token = csrf_of(await client.get("/dashboard/webhooks"))
    return await client.post(
        "/dashboard/webhooks",
        data={"url": url, "events": events, "csrf_token": token},
        follow_redirects=True,
    )


async def test_webhook_pages_create_log_replay_and_delete(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(client)
    page = await client.get("/dashboard/webhooks")
    assert page.status_code == 200
    assert "No webhook endpoints yet" in page.text
    assert 'href="/dashboard/webhooks"' in page.text

    url = await receiver.start()
    created = await _create(client, url, ["link.created", "link.deleted"])
    assert [r.status_code for r in created.history] == [303], created.text
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    assert SECRET.search(created.text)
    hook_id = HOOK_ID.search(created.text)
    assert hook_id
    listed = await client.get("/dashboard/webhooks")
    assert url in listed.text and "link.deleted" in listed.text
    assert "whsec_" not in listed.text  # shown once

    # A link made in the dashboard is delivered, and the log shows it.
    made = await client.post(
        "/dashboard/links",
        data={"url": "https://example.com/hooked", "csrf_token": await page_token(client)},
    )
    assert made.status_code == 303
    log_url = f"/dashboard/webhooks/{hook_id.group(1)}"

    async def delivered() -> bool:
        return "badge-delivered" in (await client.get(log_url)).text

    await eventually(delivered)
    log = await client.get(log_url)
    assert "link.created" in log.text
    assert re.search(r'<td class="num">200</td>\s*<td class="num">1</td>', log.text)
    replay = re.search(r'action="(/dashboard/webhooks/\d+/deliveries/\d+/replay)"', log.text)
    assert replay
    replayed = await client.post(replay.group(1), data={"csrf_token": csrf_of(log)})
    assert replayed.status_code == 303
    assert replayed.headers["location"] == log_url

    async def sent_twice() -> bool:
        return len(receiver.received) == 2

    await eventually(sent_twice)
    assert receiver.received[0].body == receiver.received[1].body

    deleted = await client.post(f"{log_url}/delete", data={"csrf_token": csrf_of(log)})
    assert deleted.status_code == 303
    assert "No webhook endpoints yet" in (await client.get("/dashboard/webhooks")).text
    assert (await client.get(log_url, headers=HTML)).status_code == 404


async def test_webhook_form_errors_are_shown_beside_the_fields(client: httpx.AsyncClient) -> None:
    await register(client)
    empty = await _create(client, "", [])
    assert empty.status_code == 422
    assert 'id="url-error"' in empty.text and 'id="events-error"' in empty.text
    own = await _create(client, "http://short.test/x", ["link.created"])
    assert own.status_code == 422
    assert 'id="url-error"' in own.text
    assert "whsec_" not in own.text


async def test_webhook_forms_need_the_csrf_token(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(client)
    url = await receiver.start()
    refused = await client.post(
        "/dashboard/webhooks", data={"url": url, "events": ["link.created"]}, headers=HTML
    )
    assert refused.status_code == 403
    created = await _create(client, url, ["link.created"])
    hook_id = HOOK_ID.search(created.text)
    assert hook_id
    base = f"/dashboard/webhooks/{hook_id.group(1)}"
    assert (await client.post(f"{base}/delete", headers=HTML)).status_code == 403
    assert (await client.post(f"{base}/deliveries/1/replay", headers=HTML)).status_code == 403
    assert (await client.get(base)).status_code == 200


async def test_a_user_cannot_see_or_touch_another_users_webhooks(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(client)
    url = await receiver.start()
    created = await _create(client, url + "?owner=alice", ["link.created"])
    hook_id = HOOK_ID.search(created.text)
    assert hook_id
    made = await client.post(
        "/dashboard/links",
        data={"url": "https://example.com/a", "csrf_token": await page_token(client)},
    )
    assert made.status_code == 303
    base = f"/dashboard/webhooks/{hook_id.group(1)}"

    async def logged() -> bool:
        return "badge-delivered" in (await client.get(base)).text

    await eventually(logged)
    replay = re.search(
        r'action="(/dashboard/webhooks/\d+/deliveries/\d+/replay)"', (await client.get(base)).text
    )
    assert replay

    client.cookies.clear()
    await register(client)
    page = await client.get("/dashboard/webhooks")
    assert "owner=alice" not in page.text
    token = csrf_of(page)
    assert (await client.get(base, headers=HTML)).status_code == 404
    for path in (f"{base}/delete", replay.group(1)):
        response = await client.post(path, data={"csrf_token": token}, headers=HTML)
        assert response.status_code == 404, path
    assert len(receiver.received) == 1
