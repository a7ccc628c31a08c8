#!/usr/bin/env python
"""Two app hosts behind HAProxy, in network namespaces, and the loss of one of them under load.

    sudo python bench/hosts_bench.py [--seconds 8] [--connections 32] [--keys 8]

Builds the deployment of tests/hosts.py (the same code as tests/reliability/test_several_hosts.py):
a data host with a fresh PostgreSQL cluster and Redis (AOF everysec), two app hosts running
`shortener serve --workers 2`, HAProxy on a front host checking /readyz every 500 ms. Then:

1. steady load: wrk on the front host through HAProxy, cycling over `--keys` links; prints
   redirects/s, latency, each host's share, and that the clicks counted equal the redirects;
2. memory: resident size of each process of an app host, at rest and after the load;
3. failover: the same load, and every process of app1 SIGKILLed once both hosts have answered
   for 2 s; prints how long HAProxy took to mark it down, failed requests, and clicks lost.

Everything runs on this machine: the figures say how the pieces behave together, not what a
real fleet serves. Needs root, iproute2, haproxy, wrk and PostgreSQL's server binaries.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import netns
from tests.hosts import Hosts, start
from tests.hosts_load import (
    counted_when_drained,
    kill_one_host_under_load,
    load,
    redirects,
    settled_redirects,
    start_wrk,
)
from tests.reliability.test_restarts import _create, _signed_in


def _rss(namespace: str) -> list[tuple[str, float]]:
    """(what, resident MB) of each process in the namespace."""
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    found = []
    for pid in sorted(int(p) for p in pids.stdout.split()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        line = b" ".join(argv)
        kind = (
            "resource tracker"
            if b"resource_tracker" in line
            else "worker"
            if b"multiprocessing" in line
            else "supervisor"
        )
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        found.append((f"{kind} {pid}", rss / 1024))
    return found


async def _database(database_url: str) -> tuple[dict[str, int], int, int]:
    """(connections open per client host, click rows, bytes of the clicks table with indexes)."""
    conn = await asyncpg.connect(database_url)
    try:
        by_host = await conn.fetch(
            "SELECT client_addr::text AS host, count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() GROUP BY 1"
        )
        rows = await conn.fetchval("SELECT count(*) FROM clicks")
        size = await conn.fetchval("SELECT pg_total_relation_size('clicks')")
        return {str(r["host"]): int(r["n"]) for r in by_host}, int(rows), int(size)
    finally:
        await conn.close()


def _steady(hosts: Hosts, keys: list[str], seconds: int, connections: int) -> None:
    before = redirects(hosts)
    clicks_before, _ = counted_when_drained(hosts, keys)
    process = start_wrk(hosts, keys, seconds=seconds, connections=connections)
    seen = load(process, timeout=seconds + 60)
    after = settled_redirects(hosts)
    clicks, rows = counted_when_drained(hosts, keys)
    shares = ", ".join(f"{h} {after[h] - before[h]}" for h in after)
    answered = sum(after[h] - before[h] for h in after)
    print(f"steady, {connections} connections over {len(keys)} links, {seconds} s through HAProxy:")
    print(f"  {seen.rps:,.0f} redirects/s (4 workers on 2 hosts), p50 {seen.p50_ms:.1f} ms,")
    print(f"  p99 {seen.p99_ms:.1f} ms; answered by host: {shares}; failed: {seen.failed}")
    print(f"  clicks counted {clicks - clicks_before} of {answered} answered (rows {rows})")
    by_host, _, _ = hosts.client.call(_database(hosts.database_url))
    names = {address: host for host, address in hosts.network.hosts.items()}
    opened = ", ".join(f"{names.get(a.split('/')[0], a)} {n}" for a, n in by_host.items())
    print(f"  PostgreSQL connections open after it, by host: {opened}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--keys", type=int, default=8, help="links the load cycles over")
    args = parser.parse_args()
    if reason := netns.unavailable():
        sys.exit(f"cannot build the hosts: {reason}")
    netns.sweep()
    keys = [f"bench{i}" for i in range(args.keys)]
    print(
        f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python "
        f"{platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="hosts-bench-") as workdir:
        began = time.monotonic()
        hosts = start(Path(workdir), CLICK_CLAIM_IDLE_MS="1000")
        try:
            print(f"hosts up in {time.monotonic() - began:.1f} s")
            headers = hosts.client.call(_signed_in(hosts.front_url))
            for key in keys:
                hosts.client.call(
                    _create(hosts.front_url, headers, url=f"https://example.com/{key}", alias=key)
                )
            app2 = hosts.network.namespace("app2")
            at_rest = _rss(app2)
            _steady(hosts, keys, args.seconds, args.connections)
            loaded = dict(_rss(app2))
            print("memory of app2's processes (resident MB, at rest -> after the load):")
            for what, mb in at_rest:
                print(f"  {what}: {mb:.0f} -> {loaded.get(what, 0):.0f}")
            run = kill_one_host_under_load(
                hosts, keys, seconds=args.seconds, connections=args.connections
            )
            seen = run.load
            print("failover, every process of app1 SIGKILLed mid-load:")
            print(
                f"  HAProxy marked app1 DOWN {run.detected_s * 1000:.0f} ms after the kill "
                "(checks every 500 ms, fall 2)"
            )
            print(
                f"  failed requests: {seen.non_2xx_3xx} non-2xx/3xx, "
                f"{seen.socket_errors} socket errors, {seen.other} other answers "
                f"(of {seen.redirects} redirects, {seen.rps:,.0f}/s, p99 {seen.p99_ms:.1f} ms)"
            )
            print(f"  app2 answered {run.survivor_after_down} redirects after the DOWN")
            print(
                f"  clicks: {run.relayed} answered, {run.counters} counted, {run.lost} lost "
                f"(app1 answered {run.dead_rate:,.0f} redirects/s before its kill)"
            )
            _, rows, size = hosts.client.call(_database(hosts.database_url))
            print(
                f"database: {rows} click rows in {size / 2**20:.1f} MB (clicks table and its "
                f"indexes): {size / rows * 1e6 / 2**20:,.0f} MB per million clicks"
            )
        finally:
            hosts.close()


if __name__ == "__main__":
    main()
