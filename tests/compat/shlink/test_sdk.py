"""Shlink's official JavaScript SDK (@shlinkio/shlink-js-sdk, from npm) against a live server.

tests/compat/node/sdk_every_method.mjs calls every method the SDK offers (it fails if one is
left out) and checks each answer; here it runs under Node against a real uvicorn server, in
both storage modes, with both of the SDK's HTTP clients (fetch, as the web client uses, and
Node's http). `.ci/test` installs the SDK from the committed package-lock.json; without it
this test installs it first (under tests/compat/node/node_modules, ignored by git).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from shortener.main import create_app
from tests.conftest import LIVE_TIMEOUT
from tests.factories import PASSWORD, new_email
from tests.processes import ThreadedServer, free_port

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SDK = NODE_DIR / "node_modules" / "@shlinkio" / "shlink-js-sdk"


def _install_sdk() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run Shlink's SDK (.ci/test installs them)")
    # Two pytest workers may both get here: one installs, the other waits for it.
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not SDK.exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
            )


@pytest.mark.parametrize("transport", ["fetch", "node"])
def test_every_sdk_method(make_settings, transport: str) -> None:  # type: ignore[no-untyped-def]
    _install_sdk()
    # BASE_URL is the server's own address: the SDK follows the short URLs it is given.
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = ThreadedServer(create_app(make_settings(base_url=base_url)), port)
    server.start()
    try:
        with httpx.Client(base_url=base_url, timeout=LIVE_TIMEOUT) as client:
            email = new_email()
            assert (
                client.post(
                    "/api/auth/register", json={"email": email, "password": PASSWORD}
                ).status_code
                == 201
            )
            token = client.post(
                "/api/auth/token", data={"username": email, "password": PASSWORD}
            ).json()["access_token"]
            key = client.post(
                "/api/keys",
                json={"name": "sdk", "scopes": ["links:read", "links:write", "stats:read"]},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["key"]
        result = subprocess.run(
            ["node", "sdk_every_method.mjs", base_url, key, transport],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    called = result.stdout.split()
    assert called[-1] == "ok"
    assert len(called) - 1 == 23, called  # every method of SDK 3.2.1
