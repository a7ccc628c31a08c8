#!/usr/bin/env python
"""Redirects at scale: many links, the long tail and key scanners, against the bare app.

    python bench/scale_bench.py --links 100000 --keys uniform,unknown,hot
    python bench/scale_bench.py --links 1000000 --keys zipf
        [--duration 4] [--rounds 3] [--connections 32]
        [--modes embedded,postgres,flush-apart,embedded-unwritten,pg-unwritten,
                 embedded-process,embedded-process-dropped]
        [--redis-url redis://127.0.0.1:6379/14]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

The N links are written by bulk inserts (not N API calls). The bare ASGI app (bench/baseline.py)
holds the same N keys in a dict and is driven with the same wrk script, alternating with the
service round after round, so every ratio compares two figures of the same moment. Workloads:
`uniform` (every key equally likely), `zipf` (s = 1.0: rank r is hit in proportion to 1/r),
`unknown` (random keys no link has: a scanner), `hot` (one key: the old benchmark). Printed:
req/s, p50/p99, the ratios against the bare app, CPU per request (`cpu`: the server process,
every thread; `loop`: its main thread alone, the event loop's, the rest being the click writer
and the thread pool; `db`: every PostgreSQL and Redis process; `all`: every core of the
machine, wrk included), the worker's RSS, and an exact click check per workload (requests
sent one by one over the workload's keys; the clicks added must equal the redirects answered).
With the embedded mode, `sqlite floor` is the bare app reading each key from the service's
SQLite file (bench/baseline.py): the long tail's ceiling there, a read per request and nothing
else. The experiments `embedded-unwritten` and `pg-unwritten` are the service with no click
written (bench/unwritten_serve.py; CLICK_FLUSHER=false and no flusher): what the redirect
path reaches when recording clicks costs nothing, so a target above it is out of reach
whatever a click writer costs. The experiments `embedded-process` and
`embedded-process-dropped` hand the embedded store's click batches to a process of their own
(bench/writer_process_serve.py), which writes them (their clicks are checked like the
service's) or drops them: whether the writer lengthens the tail by holding the serving
process's interpreter lock or by needing CPU on the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (
    ROOT,
    Server,
    WrkResult,
    cpu_seconds,
    exact_requests,
    machine_cpu_seconds,
    rss_mb,
    start_baseline,
    stores_cpu_seconds,
    workspace_of,
    wrk,
)
from redirect_bench import (
    PASSWORD,
    TARGET,
    _create_pg_database,
    _drop_pg_database,
    _machine,
    _median,
    service,
)

from shortener.auth.service import create_user
from shortener.db import make_engine, make_sessionmaker
from shortener.keys import md5_hex
from shortener.models import Link

WORKLOADS = ("uniform", "zipf", "unknown", "hot")
FLOOR = "sqlite floor"
UNWRITTEN_EMBEDDED = "embedded unwritten"
UNWRITTEN_PG = "pg+redis unwritten"
PROCESS_WRITER = "writer process"
PROCESS_DROPPED = "process, dropped"
MODES = (
    "embedded",
    "postgres",
    "flush-apart",
    "embedded-unwritten",
    "pg-unwritten",
    "embedded-process",
    "embedded-process-dropped",
)
ZIPF_SAMPLES = 400_000
EXACT_REQUESTS = 5_000


def seeder(links: int, domains: int = 0):  # type: ignore[no-untyped-def]
    """Links k0 .. k{links-1} (and the ones redirect_bench's helpers expect), bulk-inserted;
    with `domains`, that many verified custom domains too (requests then have their Host read
    and compared: the links stay on the default domain the benchmark asks for)."""

    async def seed(database_url: str) -> None:
        engine = make_engine(database_url)
        md5 = md5_hex(TARGET)
        async with make_sessionmaker(engine)() as session, session.begin():
            user = await create_user(session, email="bench@example.com", password=PASSWORD)
            await session.flush()
            workspace = await workspace_of(session, user)
            if domains:
                from shortener.models import Domain

                session.add_all(
                    Domain(hostname=f"d{i}.bench.test", verified=True, verification_token=f"t{i}")
                    for i in range(domains)
                )
            keys = itertools.chain(["bench", "exact"], (f"k{i}" for i in range(links)))
            while batch := list(itertools.islice(keys, 20_000)):
                rows = [
                    {"key": k, "url": TARGET, "url_md5": md5, "key_strategy": "alias"}
                    for k in batch
                ]
                for row in rows:
                    row["owner_id"] = user.id
                    row["workspace_id"] = workspace
                await session.execute(insert(Link), rows)
        # Statistics for the planner, as a live database has them: right after a bulk insert
        # PostgreSQL has none for links yet and may scan the table for each key until
        # autovacuum gets to it (a warm-up of a second is not enough).
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE links"))
            await conn.commit()
        await engine.dispose()

    return seed


def zipf_ranks(links: int, count: int, rng: random.Random) -> list[int]:
    cumulative = list(itertools.accumulate(1.0 / r for r in range(1, links + 1)))
    total = cumulative[-1]
    return [bisect.bisect_left(cumulative, rng.random() * total) for _ in range(count)]


def script(workload: str, links: int, directory: Path, rng: random.Random) -> Path | None:
    """The wrk script of a workload: each request draws its key as the workload says."""
    path = directory / f"{workload}.lua"
    if workload == "hot":
        return None
    if workload == "uniform":
        draw = f'"/k" .. math.random(0, {links - 1})'
    elif workload == "unknown":
        # Keys of the same shape no link has: a scanner walking the key space.
        draw = '"/u" .. math.random(1, 2000000000)'
    if workload != "zipf":
        body = f'request = function()\n  return wrk.format("GET", {draw})\nend\n'
    else:
        ranks = ",".join(map(str, zipf_ranks(links, ZIPF_SAMPLES, rng)))
        body = (
            f"local ranks = {{{ranks}}}\nlocal i = math.random(1, #ranks)\n"
            "request = function()\n  i = i % #ranks + 1\n"
            '  return wrk.format("GET", "/k" .. ranks[i])\nend\n'
        )
    path.write_text("math.randomseed(os.time())\n" + body)
    return path


def sample_paths(workload: str, links: int, count: int, rng: random.Random) -> list[str]:
    if workload == "hot":
        return ["/k0"] * count
    if workload == "uniform":
        return [f"/k{rng.randrange(links)}" for _ in range(count)]
    if workload == "unknown":
        return [f"/u{rng.randrange(1, 2_000_000_000)}" for _ in range(count)]
    return [f"/k{r}" for r in zipf_ranks(links, count, rng)]


async def _total_clicks(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            total = (
                await session.execute(select(func.sum(Link.clicks + Link.bot_clicks)))
            ).scalar_one()
    finally:
        await engine.dispose()
    return int(total or 0)


def settled_clicks(database_url: str, timeout: float = 60.0) -> int:
    """The click total once it has stopped moving (two reads 1.5 s apart agree)."""
    deadline = time.monotonic() + timeout
    last = asyncio.run(_total_clicks(database_url))
    while time.monotonic() < deadline:
        time.sleep(1.5)
        now = asyncio.run(_total_clicks(database_url))
        if now == last:
            return now
        last = now
    raise RuntimeError("clicks still moving")


def exact_check(server: Server, database_url: str, paths: list[str], connections: int) -> dict:
    before = settled_clicks(database_url)
    statuses = exact_requests(server.port, paths, connections)
    answered = statuses.get(302, 0)
    deadline = time.monotonic() + 60
    clicks = asyncio.run(_total_clicks(database_url)) - before
    while clicks < answered and time.monotonic() < deadline:
        time.sleep(0.2)
        clicks = asyncio.run(_total_clicks(database_url)) - before
    clicks = settled_clicks(database_url) - before  # a late double count shows here
    return {
        "answered": answered,
        "clicks": clicks,
        "exact": clicks == answered,
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--keys", default="uniform,unknown,hot", help="of " + ",".join(WORKLOADS))
    parser.add_argument(
        "--modes",
        default="embedded,postgres",
        help="of embedded, postgres, flush-apart (PostgreSQL + Redis, clicks written by "
        "`shortener flush` in a process of its own), and the experiments embedded-unwritten "
        "and pg-unwritten (no click written: the bound a click writer leaves), "
        "embedded-process and embedded-process-dropped (the embedded store's clicks handed "
        "to a process of their own, written or dropped there)",
    )
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--out", default="scale.json")
    parser.add_argument(
        "--domains", type=int, default=0, help="verified custom domains to add (default 0)"
    )
    args = parser.parse_args()
    workloads = args.keys.split(",")
    if unknown := set(workloads) - set(WORKLOADS):
        parser.error(f"unknown workloads: {unknown}")
    modes = args.modes.split(",")
    if unknown_modes := set(modes) - set(MODES):
        parser.error(f"unknown modes: {unknown_modes}")
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="shortener-scale-"))
    rng = random.Random(12)
    seed = seeder(args.links, args.domains)

    started = time.monotonic()
    baseline = start_baseline({"BENCH_LINKS": str(args.links)})
    servers: list[Server] = [baseline]
    urls: dict[str, str] = {}
    pg_db = None
    pg_dbs: list[str] = []
    unwritten_prefix = f"bench:unwritten:{uuid.uuid4().hex[:8]}:"
    try:
        if "embedded" in modes:
            urls["embedded"] = f"sqlite:///{tmp}/embedded.db"
            servers.append(service("embedded", urls["embedded"], None, seed=seed))
            # The bare app reading every key from the same file: what the long tail could be
            # if a miss cost nothing but its SQLite read (and no click were counted).
            floor = {"BENCH_SQLITE": f"{tmp}/embedded.db"}
            servers.append(start_baseline(floor, name=FLOOR))
        if "postgres" in modes:
            pg_db = _create_pg_database(args.postgres_url)
            urls["postgres+redis"] = pg_db
            servers.append(service("postgres+redis", pg_db, args.redis_url, seed=seed))
        if "flush-apart" in modes:
            # As a deployment whose serving workers run with CLICK_FLUSHER=false: clicks are
            # written by `shortener flush`, a process of its own (CPU per request: the worker's).
            apart_db = _create_pg_database(args.postgres_url)
            pg_dbs.append(apart_db)
            urls["pg+redis apart"] = apart_db
            servers.append(
                service("pg+redis apart", apart_db, args.redis_url, seed=seed, flusher_apart=True)
            )
        # Experiments: the rate with no click written at all. A target above it is out of
        # reach whatever writing a click costs. No click check: none is counted.
        if "embedded-unwritten" in modes:
            url = f"sqlite:///{tmp}/unwritten.db"
            servers.append(service(UNWRITTEN_EMBEDDED, url, None, seed=seed, unwritten=True))
        if "embedded-process" in modes:
            urls[PROCESS_WRITER] = f"sqlite:///{tmp}/process.db"
            writes = service(
                PROCESS_WRITER, urls[PROCESS_WRITER], None, seed=seed, writer_process="write"
            )
            servers.append(writes)
        if "embedded-process-dropped" in modes:
            url = f"sqlite:///{tmp}/process-dropped.db"
            servers.append(service(PROCESS_DROPPED, url, None, seed=seed, writer_process="drop"))
        if "pg-unwritten" in modes:
            unwritten_db = _create_pg_database(args.postgres_url)
            pg_dbs.append(unwritten_db)
            servers.append(
                service(
                    UNWRITTEN_PG,
                    unwritten_db,
                    args.redis_url,
                    seed=seed,
                    unwritten=True,
                    redis_prefix=unwritten_prefix,
                )
            )
        print(f"{args.links} links seeded and servers up in {time.monotonic() - started:.0f} s")
        report: dict = {"machine": _machine(), "links": args.links, "workloads": {}}
        for workload in workloads:
            lua = script(workload, args.links, tmp, rng)
            path = "/k0" if workload == "hot" else "/"
            runs: dict[str, list[WrkResult]] = {s.name: [] for s in servers}
            cpu: dict[str, list[float]] = {s.name: [] for s in servers}
            loop: dict[str, list[float]] = {s.name: [] for s in servers}
            stores: dict[str, list[float]] = {s.name: [] for s in servers}
            machine: dict[str, list[float]] = {s.name: [] for s in servers}
            for server in servers:  # warm-up
                wrk(server.url + path, duration=1, connections=args.connections, script=lua)
            for _ in range(args.rounds):
                for server in servers:
                    pid = server.process.pid
                    before, before_loop = cpu_seconds(pid), cpu_seconds(pid, thread=pid)
                    before_stores, before_machine = stores_cpu_seconds(), machine_cpu_seconds()
                    run = wrk(
                        server.url + path,
                        duration=args.duration,
                        connections=args.connections,
                        script=lua,
                    )
                    # The round's clicks are written before the next target runs: their CPU
                    # counts too, and a writer still busy would slow the next target down.
                    if server.name in urls:
                        settled_clicks(urls[server.name])
                    else:
                        time.sleep(1.5)
                    runs[server.name].append(run)
                    per_request = 1e6 / max(1, run.requests)
                    used = cpu_seconds(pid) - before
                    cpu[server.name].append(used * per_request)
                    loop[server.name].append(
                        (cpu_seconds(pid, thread=pid) - before_loop) * per_request
                    )
                    stores[server.name].append((stores_cpu_seconds() - before_stores) * per_request)
                    machine[server.name].append(
                        (machine_cpu_seconds() - before_machine) * per_request
                    )
            base = _median(runs["baseline"])
            rows = {}
            for server in servers:
                m = _median(runs[server.name])
                rows[server.name] = {
                    **m,
                    "ratio_rps": m["rps"] / base["rps"],
                    "ratio_p99": m["p99_ms"] / base["p99_ms"],
                    "cpu_us": statistics.median(cpu[server.name]),
                    "loop_cpu_us": statistics.median(loop[server.name]),
                    "stores_cpu_us": statistics.median(stores[server.name]),
                    "machine_cpu_us": statistics.median(machine[server.name]),
                    "rss_mb": rss_mb(server.process.pid),
                }
            paths = sample_paths(workload, args.links, EXACT_REQUESTS, rng)
            for server in servers[1:]:
                if server.name not in urls:
                    continue  # the floor and the experiments count no clicks
                rows[server.name]["exact"] = exact_check(
                    server, urls[server.name], paths, args.connections
                )
            report["workloads"][workload] = rows
            _print(workload, args, rows)
    finally:
        codes = {s.name: s.stop() for s in servers}
        for db in [pg_db, *pg_dbs]:
            if db:
                _drop_pg_database(db)
        if "pg-unwritten" in modes:  # its clicks, still queued in Redis
            _delete_keys(args.redis_url, unwritten_prefix)
    print(f"\nexit codes after SIGTERM: {codes}; {report['machine']}")
    out = ROOT / "bench" / "results" / args.out  # an absolute --out stays as it is
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")


def _delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _print(workload: str, args: argparse.Namespace, rows: dict) -> None:
    print(
        f"\n{workload}, {args.links} links: wrk -t1 -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} rounds, medians"
    )
    print(
        f"{'target':<20}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'x rps':>7}{'x p99':>7}"
        f"{'cpu us':>8}{'loop us':>8}{'db us':>7}{'all us':>8}{'RSS MB':>8}  clicks"
    )
    for name, r in rows.items():
        exact = r.get("exact")
        check = (
            f"{exact['answered']} answered, {exact['clicks']} counted: "
            + ("EXACT" if exact["exact"] else "MISMATCH")
            if exact
            else ""
        )
        print(
            f"{name:<20}{r['rps']:>9.0f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}"
            f"{r['ratio_rps']:>7.3f}{r['ratio_p99']:>7.2f}{r['cpu_us']:>8.1f}{r['loop_cpu_us']:>8.1f}"
            f"{r['stores_cpu_us']:>7.1f}{r['machine_cpu_us']:>8.1f}{r['rss_mb']:>8.0f}"
            f"  {check}"
        )


if __name__ == "__main__":
    main()
