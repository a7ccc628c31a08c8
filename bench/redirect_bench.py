#!/usr/bin/env python
"""Redirect benchmark: the bare ASGI limit against shortener, side by side, in one run.

    python bench/redirect_bench.py [--duration 4] [--connections 32] [--rounds 3]
                                   [--redis-url redis://127.0.0.1:6379/14]
                                   [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Needs wrk (Debian: `apt-get install -y wrk`) and nothing from the internet. Each server runs
one uvicorn worker (uvloop + httptools) on loopback; wrk drives them in turn, round after
round, so a noisy moment hurts every target alike. Printed: requests/s, p50 and p99 latency,
the ratios against the bare app, the uncached (first-hit, database read) figure, and an exact
click check: N redirects sent one by one and answered must become exactly N clicks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    ROOT,
    Server,
    WrkResult,
    cpu_seconds,
    exact_requests,
    start,
    start_baseline,
    workspace_of,
    wrk,
)

from shortener.auth.service import create_user
from shortener.db import make_engine, make_sessionmaker
from shortener.keys import md5_hex
from shortener.migrate import upgrade
from shortener.models import Link

TARGET = "https://example.com/landing"
UNCACHED_KEYS = 60_000
PASSWORD = "bench-password-1"
SETTLE_SECONDS = 1.5  # longer than CLICK_FLUSH_INTERVAL


async def seed(database_url: str) -> None:
    """A user, the hot link, the exact-count link and many cold links, written directly."""
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        user = await create_user(session, email="bench@example.com", password=PASSWORD)
        await session.flush()
        workspace = await workspace_of(session, user)
        rows = [
            {
                "key": key,
                "url": TARGET,
                "url_md5": md5_hex(TARGET),
                "key_strategy": "alias",
                "owner_id": user.id,
                "workspace_id": workspace,
            }
            for key in ["bench", "exact", *(f"u{i}" for i in range(UNCACHED_KEYS))]
        ]
        for i in range(0, len(rows), 5000):
            await session.execute(insert(Link), rows[i : i + 5000])
    await engine.dispose()


def service(
    name: str,
    database_url: str,
    redis_url: str | None,
    *,
    flusher_apart: bool = False,
    unwritten: bool = False,
    writer_process: str | None = None,
    redis_prefix: str | None = None,
    seed: Callable[[str], Awaitable[None]] = seed,
) -> Server:
    """The service; with `flusher_apart`, clicks are written by `shortener flush`, a process
    of its own, as on a deployment whose serving workers run with CLICK_FLUSHER=false.

    With `unwritten` (an experiment: the bound a click writer leaves) no click is written:
    with Redis they stay queued in it (CLICK_FLUSHER=false and no flusher anywhere), on the
    embedded store bench/unwritten_serve.py drops them where they would be written.
    With `writer_process` ("write" or "drop", another experiment, embedded store only)
    bench/writer_process_serve.py hands each batch to a process of its own, which writes or
    drops it."""
    upgrade(database_url)
    asyncio.run(seed(database_url))
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "REDIS_PREFIX": redis_prefix or f"bench:{uuid.uuid4().hex[:8]}:",
        "SECRET_KEY": "bench-secret-key-bench-secret-key-bench",
        "ENVIRONMENT": "production",
        "CLICK_FLUSHER": "false" if flusher_apart or (unwritten and redis_url) else "true",
    }
    command = [sys.executable, "-m", "shortener.cli", "serve"]
    if unwritten and not redis_url:
        command = [sys.executable, str(ROOT / "bench" / "unwritten_serve.py")]
    if writer_process:
        command = [sys.executable, str(ROOT / "bench" / "writer_process_serve.py")]
        env["BENCH_WRITER"] = writer_process
    server = start(name, [*command, "--port", "{port}"], env)
    if flusher_apart:
        log = open(ROOT / "bench" / "results" / f"{name}-flush.log", "wb")  # noqa: SIM115
        server.companions.append(
            subprocess.Popen(
                [sys.executable, "-m", "shortener.cli", "flush"],
                env={**os.environ, **env},
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )
        )
    return server


def clicks_of(server: Server, key: str, token: str) -> int:
    link = httpx.get(server.url + f"/api/links/{key}", headers={"Authorization": f"Bearer {token}"})
    return int(link.json()["clicks"])


def sign_in(server: Server) -> str:
    # Once: polling with a sign-in each time would meet the sign-in rate limit.
    response = httpx.post(
        server.url + "/api/auth/token",
        data={"username": "bench@example.com", "password": PASSWORD},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def exact_check(server: Server, total: int, connections: int, timeout: float = 30.0) -> dict:
    statuses = exact_requests(server.port, ["/exact"] * total, connections)
    answered = statuses.get(302, 0)
    deadline = time.monotonic() + timeout
    token = sign_in(server)
    clicks = clicks_of(server, "exact", token)
    while clicks < answered and time.monotonic() < deadline:
        time.sleep(0.2)
        clicks = clicks_of(server, "exact", token)
    time.sleep(2.5)  # a late double count would show up within two flush intervals
    clicks = clicks_of(server, "exact", token)
    return {
        "answered": answered,
        "clicks": clicks,
        "exact": clicks == answered,
        "statuses": statuses,
    }


def uncached_script(path: Path) -> Path:
    path.write_text(
        "local i = 0\n"
        "request = function()\n"
        f"  i = (i % {UNCACHED_KEYS}) + 1\n"
        '  return wrk.format("GET", "/u" .. (i - 1))\n'
        "end\n"
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--postgres-url", default=None, help="also run PostgreSQL + Redis")
    parser.add_argument("--exact-clicks", type=int, default=20_000)
    args = parser.parse_args()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="shortener-bench-"))

    servers: list[Server] = [
        start_baseline({}),
        service("embedded", f"sqlite:///{tmp}/embedded.db", None),
    ]
    if args.redis_url:
        servers.append(service("redis", f"sqlite:///{tmp}/redis.db", args.redis_url))
        servers.append(
            service(
                "flush-apart",
                f"sqlite:///{tmp}/apart.db",
                args.redis_url,
                flusher_apart=True,
            )
        )
    pg_db = None
    if args.postgres_url:
        pg_db = _create_pg_database(args.postgres_url)
        servers.append(service("postgres+redis", pg_db, args.redis_url))
    results: dict[str, list[WrkResult]] = {s.name: [] for s in servers}
    cpu_us: dict[str, list[float]] = {s.name: [] for s in servers}
    companion_us: dict[str, list[float]] = {s.name: [] for s in servers}
    report: dict = {
        "machine": _machine(),
        "duration": args.duration,
        "connections": args.connections,
    }
    try:
        for server in servers:  # warm-up: caches filled, JIT-less Python warmed
            wrk(server.url + "/bench", duration=1, connections=args.connections)
        for _ in range(args.rounds):
            for server in servers:
                before = cpu_seconds(server.process.pid)
                helpers_before = sum(cpu_seconds(p.pid) for p in server.companions)
                run = wrk(
                    server.url + "/bench", duration=args.duration, connections=args.connections
                )
                # The clicks of the round are written within a flush interval: their CPU
                # counts too (the baseline has none; it idles).
                time.sleep(SETTLE_SECONDS)
                used = cpu_seconds(server.process.pid) - before
                helpers = sum(cpu_seconds(p.pid) for p in server.companions) - helpers_before
                results[server.name].append(run)
                cpu_us[server.name].append(used / max(1, run.requests) * 1e6)
                companion_us[server.name].append(helpers / max(1, run.requests) * 1e6)
        script = uncached_script(tmp / "uncached.lua")
        uncached = {
            s.name: wrk(s.url + "/", duration=2, connections=args.connections, script=script)
            for s in servers[1:]
        }
        exact = {s.name: exact_check(s, args.exact_clicks, args.connections) for s in servers[1:]}
    finally:
        codes = {s.name: s.stop() for s in servers}
        if pg_db:
            _drop_pg_database(pg_db)

    base = _median(results["baseline"])
    print(
        f"\nredirect benchmark: wrk -t1 -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} rounds, medians; {report['machine']}"
    )
    print(
        f"{'target':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'x rps':>8}{'x p99':>8}{'errors':>8}{'cpu us':>9}{'x cpu':>7}"
    )
    rows = {}
    base_cpu = statistics.median(cpu_us["baseline"])
    for name, runs in results.items():
        m = _median(runs)
        cpu = statistics.median(cpu_us[name])
        rows[name] = {
            **m,
            "ratio_rps": m["rps"] / base["rps"],
            "ratio_p99": m["p99_ms"] / base["p99_ms"],
            "cpu_us_per_request": cpu,
            "ratio_cpu": cpu / base_cpu,
        }
        print(
            f"{name:<16}{m['rps']:>10.0f}{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}"
            f"{rows[name]['ratio_rps']:>8.2f}{rows[name]['ratio_p99']:>8.2f}{m['errors']:>8}"
            f"{cpu:>9.1f}{rows[name]['ratio_cpu']:>7.2f}"
        )
    print(
        "cpu us: the server's CPU time per redirect (every thread, including writing the "
        f"round's clicks within {SETTLE_SECONDS}s after it)"
    )
    for s in servers:
        if s.companions:
            apart = statistics.median(companion_us[s.name])
            rows[s.name]["flusher_cpu_us_per_request"] = apart
            print(f"  {s.name}: + {apart:.1f} us per redirect in the separate flusher process")
    print("\nuncached redirects (each key's first hit: database read):")
    for name, r in uncached.items():
        print(f"  {name:<16}{r.rps:>10.0f} req/s  p50 {r.p50_ms:.2f} ms  p99 {r.p99_ms:.2f} ms")
    print(
        f"\nexact click check ({args.exact_clicks} redirects over {args.connections} connections):"
    )
    for name, e in exact.items():
        print(
            f"  {name:<16}answered {e['answered']}, clicks {e['clicks']}: "
            f"{'EXACT' if e['exact'] else 'MISMATCH'}"
        )
    print(f"\nexit codes after SIGTERM: {codes}")
    report.update(results=rows, uncached={k: vars(v) for k, v in uncached.items()}, exact=exact)
    out = ROOT / "bench" / "results" / "redirect.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out.relative_to(ROOT)}")
    if not all(e["exact"] for e in exact.values()):
        sys.exit(1)


def _median(runs: list[WrkResult]) -> dict:
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "errors": sum(r.errors for r in runs),
    }


def _machine() -> str:
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _create_pg_database(url: str) -> str:
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"shortener_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(run())
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await conn.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
