"""The domains page in Chromium: add a domain, follow the DNS proof, verify, then pick the
domain when creating a link and see it beside the link."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.rdatatype
import dns.rrset
import pytest
from playwright.sync_api import expect

from tests.web.conftest import LiveServer

HOST = "go.example.test"
RECORDS: dict[str, str] = {}


class _Dns(socketserver.BaseRequestHandler):
    """Answers TXT questions from RECORDS (a tiny name server on loopback)."""

    def handle(self) -> None:
        data, sock = self.request
        query = dns.message.from_wire(data)
        reply = dns.message.make_response(query)
        question = query.question[0]
        value = RECORDS.get(question.name.to_text().rstrip("."))
        if value is not None and question.rdtype == dns.rdatatype.TXT:
            reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", f'"{value}"'))
        sock.sendto(reply.to_wire(), self.client_address)


@pytest.fixture
def name_server() -> Iterator[str]:
    server = socketserver.UDPServer(("127.0.0.1", 0), _Dns)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    RECORDS.clear()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def live_overrides(name_server: str) -> dict[str, Any]:
    return {"domain_dns_servers": name_server}


def test_add_prove_and_use_a_domain(live_server: LiveServer, new_account: Any) -> None:
    base = live_server.url
    page = new_account()
    page.get_by_role("navigation").get_by_role("link", name="Domains").click()
    expect(page).to_have_url(f"{base}/dashboard/domains")

    # A port is not a host name: said beside the field, nothing added.
    page.get_by_label("Host name").fill(f"{HOST}:8080")
    page.get_by_role("button", name="Add domain").click()
    expect(page.locator("#hostname-error")).to_be_visible()

    page.get_by_label("Host name").fill(HOST.upper())
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added {HOST}")
    row = page.locator("table.links tbody tr", has_text=HOST)
    expect(row).to_contain_text("not verified")
    expect(row).to_contain_text(f"_shortener.{HOST}")
    token = row.locator("code.token").inner_text()

    # Not proven yet: the page says what was looked for.
    row.get_by_role("button", name=f"Verify {HOST}").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status"))).to_contain_text(
        "not proven yet"
    )
    RECORDS[f"_shortener.{HOST}"] = token
    page.locator("table.links tbody tr", has_text=HOST).get_by_role(
        "button", name=f"Verify {HOST}"
    ).click()
    expect(page.get_by_role("status")).to_contain_text(f"{HOST} is verified")
    expect(page.locator("table.links tbody tr", has_text=HOST)).not_to_contain_text("not verified")

    # The picker on the links page, and the domain beside the link.
    page.get_by_role("navigation").get_by_role("link", name="Links").click()
    page.get_by_label("Long URL").fill("https://example.com/on-a-domain")
    page.get_by_label("Domain", exact=True).select_option(HOST)
    page.get_by_label("Custom alias").fill("mine")
    page.get_by_role("button", name="Shorten").click()
    expect(page.get_by_role("status")).to_contain_text(f"http://{HOST}/mine")
    expect(page.locator("table.links tbody tr", has_text="mine")).to_contain_text(HOST)
