"""`shortener domain add`: the operator adds verified domains from the command line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from shortener.cli import main
from tests.factories import make_link, make_user, new_email


def _shortener(*argv: str) -> Awaitable[int]:
    # The CLI runs its own event loop: off this test's.
    return asyncio.to_thread(main, list(argv))


async def test_domain_add(app, client, cli_env, capsys) -> None:
    email = new_email()
    await asyncio.to_thread(cli_env, email)
    assert await _shortener("domain", "add", "Shared.Example.TEST.", "--shared") == 0
    assert "shared.example.test (shared)" in capsys.readouterr().out
    assert await _shortener("domain", "add", "own.example.test", "--user", email) == 0
    assert await _shortener("domain", "add", "own.example.test") == 1
    assert "already taken" in capsys.readouterr().err
    assert await _shortener("domain", "add", "bad:80") == 1
    assert await _shortener("domain", "add", "x.example.test", "--user", "no@example.com") == 1

    someone = await make_user(client)
    listed = (await client.get("/api/domains", headers=someone)).json()
    assert [(d["hostname"], d["shared"], d["verified"]) for d in listed[1:]] == [
        ("shared.example.test", True, True)
    ]
    link = await make_link(client, someone, domain="shared.example.test")
    assert link["short_url"].startswith("http://shared.example.test/")
