"""`shortener serve --workers 2`: metrics add up across workers, logs stay JSON and clean.

A real server as a subprocess, real HTTP. Both workers must have answered some of the
redirects (their request ids carry per-process prefixes); /metrics, whichever worker answers
it, shows the total. A worker killed with SIGKILL leaves its counts in and its gauges out.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import httpx

from tests.conftest import LIVE_TIMEOUT
from tests.factories import eventually, make_link, make_user
from tests.observability.helpers import METRICS_TOKEN, Samples, scrape
from tests.observability.traffic import secret_traffic
from tests.processes import _children, server_env
from tests.webhooks.receiver import Receiver


def _multiproc_dir(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (value,) = [v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(value.split(b"=", 1)[1].decode())


async def test_two_workers_add_up(make_settings, serve, tmp_path: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    env = server_env(
        settings,
        METRICS_TOKEN=METRICS_TOKEN,
        LOG_FORMAT="json",
        LOG_LEVEL="debug",
        LOG_REDIRECTS="true",
        ALLOW_PRIVATE_WEBHOOKS="true",
        GEOIP_DATABASE="ipv4",
    )
    if mode == "postgres":
        # The operator's directory: the last run's files are cleared at start (this one is
        # not even readable: it would break every scrape).
        operator_dir = tmp_path / "metrics"
        operator_dir.mkdir()
        (operator_dir / "counter_999999.db").write_bytes(b"left over")
        env["PROMETHEUS_MULTIPROC_DIR"] = str(operator_dir)
    receiver = Receiver()
    hook_url = await receiver.start()
    try:
        server = await serve(env, workers=2)
        assert server.process is not None
        workers = _children(server.process.pid)
        metrics_dir = _multiproc_dir(workers[0])
        if mode == "postgres":
            assert metrics_dir == operator_dir
            assert not (operator_dir / "counter_999999.db").exists()
        else:
            assert metrics_dir.name.startswith("shortener-metrics-")  # made by serve

        # A new connection for each request: the kernel hands each to either worker, and
        # none is left open to a worker killed below.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=server.url, timeout=LIVE_TIMEOUT, limits=fresh
        ) as client:
            headers = await make_user(client)
            await make_link(client, headers, alias="spread")
            prefixes: set[str] = set()
            sent = 0
            deadline = time.monotonic() + 60  # the second worker may still be starting
            while len(prefixes) < 2 or sent < 20:
                assert time.monotonic() < deadline, "one worker answered every redirect"
                r = await client.get("/spread")
                assert r.status_code == 302
                prefixes.add(r.headers["x-request-id"].split("-")[0])
                sent += 1
            last_redirect_id = r.headers["x-request-id"]

            async def adds_up() -> bool:
                # The worker answering the scrape syncs first; the other one's counters and
                # gauges are as of its last sync, at most SYNC_SECONDS old. Its lag gauge may
                # still hold a click the first worker's flusher has since written: wait for
                # both workers to have seen the queue empty, not only the counts complete.
                m = await scrape(client)
                return (
                    m.value("shortener_redirects_total", status="302") == sent
                    and m.value("shortener_clicks_queued_total") == sent
                    and m.value("shortener_clicks_flushed_total") == sent
                    and m.value("shortener_clicks_pending") == 0
                    and m.value("shortener_click_queue_lag_seconds") == 0
                )

            await eventually(adds_up)
            m = await scrape(client)
            route = {"route": "/api/links", "method": "POST", "status": "201"}
            assert m.value("shortener_http_request_duration_seconds_count", **route) == 1

            # One worker dies without a goodbye: its counts stay, its gauges go.
            with_files = {int(p.stem.split("_")[-1]) for p in metrics_dir.glob("counter_*.db")}
            victim = sorted(set(workers) & with_files)[0]
            assert list(metrics_dir.glob(f"gauge_live*_{victim}.db"))
            os.kill(victim, signal.SIGKILL)

            async def forgotten() -> bool:
                m: Samples = await scrape(client)
                assert m.value("shortener_redirects_total", status="302") == sent
                return not list(metrics_dir.glob(f"gauge_live*_{victim}.db"))

            await eventually(forgotten)
            assert (metrics_dir / f"counter_{victim}.db").exists()

            found = await secret_traffic(client, receiver, hook_url)
        await server.terminate()
    finally:
        await receiver.stop()

    if mode == "sqlite":
        assert not metrics_dir.exists()  # serve removed the directory it made
    log = server.log_path.read_text()
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    others = [line for line in log.splitlines() if line.strip() and not line.startswith("{")]
    assert not others, others  # JSON lines only
    assert {e["level"] for e in entries} >= {"DEBUG", "INFO"}
    (redirect,) = [e for e in entries if e.get("request_id") == last_redirect_id]
    assert (redirect["path"], redirect["status"]) == ("/spread", 302)
    for request_id in found.request_ids:
        assert any(e.get("request_id") == request_id for e in entries), request_id
    assert found.found_in(log) == []
    assert not re.search(r"\b81\.2\.69\.142\b", log)
