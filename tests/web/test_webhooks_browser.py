"""The webhook pages in Chromium: add an endpoint, read its secret once, watch a link event
arrive in the delivery log (and at a real receiver, signed with that secret), replay it."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import LiveServer, wait_until


@pytest.fixture
def live_overrides() -> dict[str, Any]:
    # The receiver listens on the loopback address; the dispatcher looks often.
    return {
        "allow_private_webhooks": True,
        "webhook_retry_base": 0.05,
        "webhook_poll_interval": 0.05,
    }


@dataclass
class Receiver:
    url: str
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server in a thread that records each POST and answers 200."""
    received = Receiver("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # `localhost`: 127.0.0.1 is the service's own host, which a target may not be.
    received.url = f"http://localhost:{server.server_address[1]}/hook"
    yield received
    server.shutdown()
    server.server_close()


def _signed_with(secret: str, headers: dict[str, str], body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in headers["x-shortener-signature"].split(","))
    message = f"{parts['t']}.".encode() + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_an_endpoint_gets_its_secret_once_and_logs_its_deliveries(
    live_server: LiveServer, new_account: Any, receiver: Receiver
) -> None:
    base = live_server.url
    page = new_account()
    page.get_by_role("navigation").get_by_role("link", name="Webhooks").click()
    expect(page).to_have_url(f"{base}/dashboard/webhooks")
    expect(page.get_by_role("heading", name="No webhook endpoints yet")).to_be_visible()

    # No event chosen: said beside the events, and nothing is made.
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#events-error")).to_be_visible()
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.get_by_label("Endpoint URL")).to_have_value(receiver.url)

    page.get_by_label("link.created").check()
    page.get_by_role("button", name="Add endpoint").click()
    shown = page.locator("#new-secret")
    expect(shown).to_have_text(re.compile(r"^whsec_[0-9a-f]+$"))
    secret = shown.inner_text()
    row = page.locator("table.links tbody tr", has_text=receiver.url)
    expect(row).to_contain_text("link.created")
    expect(row).not_to_contain_text("link.deleted")
    page.goto("/dashboard/webhooks")  # shown once: not on the page after that
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.get_by_text("whsec_")).to_have_count(0)
    expect(row).to_have_count(1)

    # A link made in the dashboard is an event: it reaches the receiver, signed with the secret.
    page.goto("/dashboard")
    page.get_by_label("Long URL").fill("https://example.com/hooked")
    page.get_by_label("Custom alias").fill("hooked")
    page.get_by_role("button", name="Shorten").click()
    expect(page.get_by_role("status")).to_contain_text("Created")
    wait_until(lambda: len(receiver.posts) == 1, what="the delivery at the receiver")
    headers, body = receiver.posts[0]
    assert _signed_with(secret, headers, body)
    assert json.loads(body)["data"]["key"] == "hooked"

    # The log shows the delivery: event, status, the receiver's answer, one attempt.
    page.goto("/dashboard/webhooks")
    page.get_by_role("link", name=receiver.url).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(receiver.url)
    delivery = page.locator("table.deliveries tbody tr")
    wait_until(
        lambda: page.reload() is not None and "delivered" in delivery.first.inner_text(),
        what="the delivery in the log",
    )
    expect(delivery).to_have_count(1)
    cells = delivery.locator("td")
    expect(cells.nth(0)).to_have_text("link.created")
    expect(cells.nth(1)).to_have_text("delivered")
    expect(cells.nth(2)).to_have_text("200")
    expect(cells.nth(3)).to_have_text("1")

    # Replay: the same body again, as a new delivery in the log.
    delivery.get_by_role("button", name=re.compile(r"^Replay delivery")).click()
    expect(page.get_by_role("status")).to_contain_text("queued again")
    wait_until(lambda: len(receiver.posts) == 2, what="the replayed delivery")
    assert receiver.posts[1][1] == body
    wait_until(
        lambda: page.reload() is not None and delivery.count() == 2,
        what="the replay in the log",
    )

    page.get_by_role("button", name="Delete endpoint").click()
    expect(page).to_have_url(f"{base}/dashboard/webhooks")
    expect(page.get_by_role("heading", name="No webhook endpoints yet")).to_be_visible()
