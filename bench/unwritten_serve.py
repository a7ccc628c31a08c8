#!/usr/bin/env python
"""`shortener serve` with every click dropped where the click writer would write it.

An experiment of bench/scale_bench.py (mode `embedded-unwritten`), never a way to run the
service: how fast the embedded store answers a long tail when recording its clicks costs
nothing. The rate it reaches bounds what any click writer could give; a target above it is
out of reach whatever the writer costs. (On PostgreSQL + Redis the same bound needs no
patch: CLICK_FLUSHER=false and no `shortener flush` leave the clicks queued in Redis.)

    python bench/unwritten_serve.py --port 8000     # the arguments of `shortener serve`
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import shortener.clicks.writer_thread as writer_thread
from shortener.cli import main


def _dropped(session: Any, clicks: Sequence[Any], **_: Any) -> int:
    return len(clicks)  # what the writer returns: the clicks it counted


# A renamed writer would leave the clicks written and the experiment measuring nothing.
if not callable(getattr(writer_thread, "write_clicks_sync", None)):
    sys.exit("bench/unwritten_serve.py: shortener.clicks.writer_thread has no write_clicks_sync")
writer_thread.write_clicks_sync = _dropped  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
