"""Hostile input on the redirect path: what the visitor adds to a forwarding link's target.

A real server (uvicorn in a thread, httptools as in production) and raw sockets, so the bytes
sent are exactly the bytes tested. Whatever the extra path and query hold (percent-encoded
non-ASCII or invalid UTF-8, CR/LF, NUL, stray percent signs, raw high bytes), the answer is
never empty and never a 5xx, and a redirect's Location is a valid absolute ASCII URL.
"""

from __future__ import annotations

import asyncio
import socket
import string
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shortener.cli import _insert_user
from shortener.main import create_app
from tests.conftest import LIVE_TIMEOUT
from tests.factories import PASSWORD, new_email
from tests.processes import ThreadedServer

TARGET = "https://t.example/base/?a=1"


@pytest.fixture
def server(settings) -> Iterator[ThreadedServer]:  # type: ignore[no-untyped-def]
    live = ThreadedServer(create_app(settings))
    live.start()
    try:
        email = new_email()
        assert asyncio.run(_insert_user(settings, email, PASSWORD, False)) == 0
        token = httpx.post(
            f"{live.url}/api/auth/token",
            data={"username": email, "password": PASSWORD},
            timeout=LIVE_TIMEOUT,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        links = [
            {"alias": "fwd", "url": TARGET, "forward_path": True, "forward_query": True},
            # Rules and variants take the per-visitor branch too: the same re-encoding applies.
            {
                "alias": "fwdrules",
                "url": TARGET,
                "forward_path": True,
                "forward_query": True,
                "rules": [{"device": "ios", "url": "https://ios.example/app"}],
            },
        ]
        for link in links:
            r = httpx.post(f"{live.url}/api/links", json=link, headers=auth, timeout=LIVE_TIMEOUT)
            assert r.status_code == 201, r.text
        yield live
    finally:
        live.stop()


def raw_get(port: int, target: bytes) -> tuple[int, dict[bytes, bytes]]:
    """One GET of `target` exactly as given; the status and headers of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=LIVE_TIMEOUT) as sock:
        sock.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: short.test\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data, f"empty reply to {target!r}"
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def assert_sound(target: bytes, status: int, headers: dict[bytes, bytes]) -> None:
    assert status < 500, (target, status)
    if 300 <= status < 400:
        location = headers[b"location"].decode("ascii")
        assert all(0x21 <= ord(c) <= 0x7E for c in location), location
        parts = urlsplit(location)
        assert parts.scheme in ("http", "https") and parts.hostname, location
        assert httpx.URL(location).is_absolute_url


@pytest.mark.parametrize(
    ("target", "location"),
    [
        (b"/fwd/%C4%80", "https://t.example/base/%C4%80?a=1"),
        (b"/fwd/%ff", "https://t.example/base/%ff?a=1"),
        (b"/fwd/a%0D%0ASet-Cookie:%20x=1", "https://t.example/base/a%0D%0ASet-Cookie:%20x=1?a=1"),
        (b"/fwd/%00", "https://t.example/base/%00?a=1"),
        (b"/fwd/100%", "https://t.example/base/100%25?a=1"),
        (b"/fwd/x?q=%ff", "https://t.example/base/x?a=1&q=%FF"),
        (b"/fwd?q=%0D%0Aevil&a=2", "https://t.example/base/?a=1&q=%0D%0Aevil"),
        (b"/fwd?q=%C4%80+%00", "https://t.example/base/?a=1&q=%C4%80+%00"),
        (b"/fwd/%E2%82%AC/%2e%2e?%zz=%", "https://t.example/base/%E2%82%AC/%2e%2e?a=1&%25zz=%25"),
        (b"/fwdrules/%C4%80?q=%ff", "https://t.example/base/%C4%80?a=1&q=%FF"),
    ],
)
def test_what_the_visitor_adds_is_re_encoded(
    server: ThreadedServer, target: bytes, location: str
) -> None:
    status, headers = raw_get(server.port, target)
    assert status == 302, (target, status)
    assert headers[b"location"].decode("ascii") == location
    assert_sound(target, status, headers)


def test_raw_high_bytes_are_escaped_or_refused(server: ThreadedServer) -> None:
    for target in (b"/fwd/\xc4\x80", b"/fwd/\xff", b"/fwd?q=\xff\xfe"):
        status, headers = raw_get(server.port, target)
        assert_sound(target, status, headers)


_PRINTABLE = [c.encode() for c in string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/"]
_piece = st.one_of(
    st.sampled_from(_PRINTABLE),
    st.binary(min_size=1, max_size=3).map(lambda b: "".join(f"%{x:02X}" for x in b).encode()),
    st.sampled_from([b"%", b"%z", b"%0", b"%%", b"?", b"=", b"&", b"+", b"#"]),
    st.binary(min_size=1, max_size=2).filter(lambda b: all(x >= 0x80 for x in b)),
)
_part = st.lists(_piece, max_size=12).map(b"".join)


@given(key=st.sampled_from([b"fwd", b"fwdrules"]), path=_part, query=_part)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzz_the_redirect_path(
    server: ThreadedServer, key: bytes, path: bytes, query: bytes
) -> None:
    target = b"/" + key + (b"/" + path if path else b"") + (b"?" + query if query else b"")
    status, headers = raw_get(server.port, target)
    assert_sound(target, status, headers)
