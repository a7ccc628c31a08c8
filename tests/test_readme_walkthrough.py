"""The README's "first five minutes", run as written: its shell blocks, in one bash, in an empty
folder, with only `PORT=8000` changed to a free port. Each step's output is checked."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from pathlib import Path

from tests.test_cli import ROOT
from tests.web.conftest import free_port

SECTION = re.compile(r"^## The first five minutes\n(.*?)^## ", re.S | re.M)
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
MARK = "@@step-done@@"


def walkthrough_blocks() -> list[str]:
    section = SECTION.search((ROOT / "README.md").read_text())
    assert section, "README.md has no 'The first five minutes' section"
    return BLOCK.findall(section.group(1))


def test_the_first_five_minutes(tmp_path: Path) -> None:
    blocks = walkthrough_blocks()
    assert len(blocks) == 5 and blocks[0].startswith("PORT=8000\n")
    port = free_port()
    blocks[0] = blocks[0].replace("PORT=8000\n", f"PORT={port}\n", 1)
    # Each block's output ends with a mark; the server's own output goes to a file.
    script = "".join(f"{block}echo {MARK}\n" for block in blocks)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_", "PYTEST"))
        and k not in ("DATABASE_URL", "REDIS_URL", "BASE_URL", "SECRET_KEY", "ENVIRONMENT")
    }
    # This checkout's code (the `shortener` script imports it); clicks written as documented.
    env.update(PYTHONPATH=str(ROOT), CLICK_FLUSH_INTERVAL="1")
    folder = tmp_path / "new-user"
    folder.mkdir()
    # Files, not pipes: the server left running in the background holds them open.
    output, log = tmp_path / "out.txt", tmp_path / "serve.log"
    with output.open("w") as out_file, log.open("w") as log_file:
        shell = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=folder,
            env=env,
            stdout=out_file,
            stderr=log_file,
            start_new_session=True,  # the server it starts in the background is in its group
        )
        try:
            shell.wait(timeout=90)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the server, and bash if it runs
                os.killpg(shell.pid, signal.SIGTERM)
    out, served = output.read_text(), log.read_text()
    assert shell.returncode == 0, (out, served)
    start, register, create, follow, stats, tail = out.split(f"{MARK}\n")
    assert start == "" and tail == ""
    assert f"database: SQLite {folder.resolve() / 'shortener.db'}" in served
    assert json.loads(register)["email"] == "me@example.com"
    link = json.loads(create)
    assert link["short_url"] == f"http://127.0.0.1:{port}/hello"
    assert link["url"] == "https://example.com/"
    assert re.fullmatch(r"30[27] https://example\.com/\n", follow), follow
    figures = json.loads(stats)
    assert figures["key"] == "hello" and figures["total_clicks"] == 1, figures
    assert figures["browsers"][0]["value"] == "Firefox"
    assert (folder / "shortener.db").exists()
