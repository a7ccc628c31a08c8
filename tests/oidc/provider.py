"""A real OpenID provider for the single sign-on tests: panva's `oidc-provider` (npm, pinned by
tests/oidc/node/package-lock.json), run by Node from tests/oidc/node/provider.mjs.

Its issuer is http://localhost:PORT: another host than the live servers' 127.0.0.1, so the
browser keeps the provider's cookies and ours apart, as it would for a real provider.
Its clients are "native" ones with a loopback redirect URI, which the provider accepts on any
port (RFC 8252 section 7.3): one provider serves every test's live server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port

NODE_DIR = Path(__file__).resolve().parent / "node"
CALLBACK = "http://127.0.0.1/login/oidc/callback"
CLIENT_ID = "shortener"
CLIENT_SECRET = "tests-only-client-secret-0123456789"
PUBLIC_CLIENT_ID = "shortener-public"

# Login name typed on the provider's sign-in page -> the claims it gives.
ACCOUNTS = {
    "ada": {"email": "ada@example.com", "email_verified": True},
    "newcomer": {"email": "newcomer@example.com", "email_verified": True},
    "mallory": {"email": "mallory@example.com", "email_verified": False},
    "twofa": {"email": "twofa@example.com", "email_verified": True},
    "disabled": {"email": "disabled@example.com", "email_verified": True},
    # As Microsoft Entra ID gives work accounts: no email_verified; with the optional claim
    # xms_edov the tenant vouches for the address's domain (or does not).
    "entra": {"email": "entra@example.com", "xms_edov": True},
    "entra-unproven": {"email": "unproven@example.com", "xms_edov": False},
    "entra-plain": {"email": "plain@example.com"},
    "contradicted": {
        "email": "contradicted@example.com",
        "email_verified": False,
        "xms_edov": True,
    },
}
CLIENTS = [
    {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "application_type": "native",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "client_secret_basic",
    },
    {
        "client_id": PUBLIC_CLIENT_ID,
        "application_type": "native",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
    },
]


@dataclass(frozen=True)
class Provider:
    issuer: str

    def settings(self, *, public: bool = False, signup: bool = False) -> dict[str, object]:
        """The OIDC_* settings of a live server signing in with this provider."""
        return {
            "oidc_issuer": self.issuer,
            "oidc_client_id": PUBLIC_CLIENT_ID if public else CLIENT_ID,
            "oidc_client_secret": None if public else CLIENT_SECRET,
            "oidc_signup": signup,
        }


def _install() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm run the test OpenID provider (.ci/test installs them)")
    # Two pytest workers may both get here: one installs, the other waits for it.
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (NODE_DIR / "node_modules" / "oidc-provider").exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
            )


@contextlib.contextmanager
def running_provider(*, claims_in_id_token: bool = False) -> Iterator[Provider]:
    """The provider on a free loopback port, until the block ends. It gives the e-mail claims
    from userinfo (the spec's default for the code flow), or with `claims_in_id_token` in the
    ID token, with no userinfo endpoint at all."""
    _install()
    port = free_port()
    config = {"accounts": ACCOUNTS, "clients": CLIENTS, "claimsInIdToken": claims_in_id_token}
    env = {**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)}
    process = subprocess.Popen(
        ["node", "provider.mjs", str(port)],
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its start-up warnings about development defaults
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "ready <issuer>" once it listens, EOF if it died
        if not line.startswith("ready "):
            raise AssertionError(f"the OpenID provider did not start (exit {process.poll()})")
        yield Provider(issuer=line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
