#!/usr/bin/env python
"""Instructions per redirect, by kind of path: a deterministic figure on a loaded machine.

    valgrind --tool=callgrind --dump-before=getppid --callgrind-out-file=/tmp/cg.%p \\
        python bench/redirect_instructions.py [N]
    python bench/redirect_instructions.py --report /tmp/cg.<pid> [N]

`--single-segment` leaves the multi-segment link (and its phase) out: a forwarded path then
costs what it did before multi-segment keys.

Each phase (N calls of one path, after a warm-up) is closed by os.getppid(), at which
callgrind dumps its counts: the dump's instructions / N is the cost of one redirect, the same
run after run whatever else the machine does (unlike time, which a loaded machine skews).
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redirect_inprocess import SCOPE, add_links, bench_settings, receive, send

from shortener.domains import hosts
from shortener.main import create_app
from shortener.migrate import upgrade
from shortener.redirect import known_keys

PHASES = {
    "hot key /bench": "/bench",
    "unknown key /nope123": "/nope123",
    "forward_path /fwd/more/path": "/fwd/more/path",
    "multi-segment /guides/2026/report": "/guides/2026/report",
}
LINKS = {"bench": False, "fwd": True, "guides/2026/report": False}  # key -> forward_path


# Work done every few seconds of wall time would be counted in a phase as often as the machine
# is slow (under callgrind, a phase lasts minutes): none of it during the measurement.
known_keys.KEYS_POLL_SECONDS = 3600.0
hosts.REFRESH_SECONDS = 3600.0


async def run(n: int, db: Path) -> None:
    app = create_app(bench_settings(db).model_copy(update={"webhook_poll_interval": 3600}))
    async with app.router.lifespan_context(app):
        await add_links(app, LINKS)
        for path in PHASES.values():
            scope = dict(SCOPE, path=path, raw_path=path.encode())
            for _ in range(200):  # warm: the cache holds the link, the filter is read
                await app(dict(scope), receive, send)
            await app.runtime.click_recorder.ship()
            os.getppid()  # dump: warm-up and setup
            for _ in range(n):
                await app(dict(scope), receive, send)
            await app.runtime.click_recorder.ship()
            os.getppid()  # dump: this phase
        print("phases:", ", ".join(PHASES), "; N =", n)


def report(prefix: str, n: int) -> None:
    files = sorted(glob.glob(prefix + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
    counts = []
    for name in files:
        text = Path(name).read_text()
        found = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        counts.append(int(found.group(1)) if found else 0)
    # dumps: 1 setup+warm, 2 phase, 3 warm, 4 phase, ...
    for i, name in enumerate(PHASES):
        if 2 * i + 1 >= len(counts):
            break
        print(f"{name:34s} {counts[2 * i + 1] / n:10.0f} instructions per redirect")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--report"]:
        report(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2000)
        sys.exit()
    if "--single-segment" in sys.argv:  # no multi-segment key at all: forward_path as before
        sys.argv.remove("--single-segment")
        del LINKS["guides/2026/report"], PHASES["multi-segment /guides/2026/report"]
    path = Path(tempfile.mkdtemp()) / "bench.db"
    upgrade(f"sqlite:///{path}")
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, path))
