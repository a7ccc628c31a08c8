"""Load through the balancer of tests/hosts.py, and the loss of one app host under it.

wrk runs on the front host with a Lua script that counts every answer by status; HAProxy's
statistics say how many redirects each app host gave. Shared by
tests/reliability/test_several_hosts.py and bench/hosts_bench.py.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

from tests.hosts import Hosts
from tests.processes import wait_until

WRK_SCRIPT = """\
-- Counts requests sent and answers by status in each thread; done() prints the totals.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  -- A person's browser coming from a page: counted as a person's click, stored as one.
  wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
    .. "Firefox/128.0"
  wrk.headers["Referer"] = "https://news.example.com/a-story"
  paths = {}
  for i, key in ipairs(args) do paths[i] = "/" .. key end
  sent, redirects, other = 0, 0, 0
end
function request()
  sent = sent + 1
  return wrk.format(nil, paths[(sent % #paths) + 1])
end
function response(status, headers, body)
  if status == 302 then redirects = redirects + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local s, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent"); r = r + t:get("redirects"); o = o + t:get("other")
  end
  io.write(string.format("COUNTED sent=%d redirects=%d other=%d\\n", s, r, o))
end
"""


@dataclass
class Load:
    """What wrk saw: every answer counted by the Lua script, errors as wrk reports them."""

    sent: int
    redirects: int  # 302s, counted one by one
    other: int  # answers that were not 302
    non_2xx_3xx: int
    socket_errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    output: str

    @property
    def failed(self) -> int:
        return self.other + self.non_2xx_3xx + self.socket_errors


def start_wrk(
    hosts: Hosts, keys: list[str], *, seconds: int, connections: int
) -> subprocess.Popen[str]:
    """wrk on the front host through the balancer, cycling through `keys`; read it with
    `load()`."""
    script = hosts.workdir / "count.lua"
    script.write_text(WRK_SCRIPT)
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    argv += [hosts.front_url, "--", *keys]  # after "--": the script's arguments
    return subprocess.Popen(
        ["ip", "netns", "exec", hosts.network.namespace("front"), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _ms(match: re.Match[str]) -> float:
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def load(process: subprocess.Popen[str], timeout: float) -> Load:
    out, _ = process.communicate(timeout=timeout)
    counted = re.search(r"COUNTED sent=(\d+) redirects=(\d+) other=(\d+)", out)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", out, re.M)
    if not (counted and rps and p50 and p99):
        raise AssertionError(f"unexpected wrk output:\n{out}")
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return Load(
        sent=int(counted.group(1)),
        redirects=int(counted.group(2)),
        other=int(counted.group(3)),
        non_2xx_3xx=int(non.group(1)) if non else 0,
        socket_errors=sum(int(n) for n in re.findall(r"\d+", errors.group(1))) if errors else 0,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50),
        p99_ms=_ms(p99),
        output=out,
    )


def redirects(hosts: Hosts) -> dict[str, int]:
    """3xx answers HAProxy has had from each app host."""
    return {n: int(row["hrsp_3xx"]) for n, row in hosts.stats().items() if n != "BACKEND"}


def settled_redirects(hosts: Hosts) -> dict[str, int]:
    """`redirects()` once no request is in flight to any host: answers to the requests wrk
    left behind when it stopped still arrive (and are counted, by HAProxy and as clicks)."""
    wait_until(
        lambda: all(row["scur"] == "0" for row in hosts.stats().values()),
        timeout=30,
        what="HAProxy's sessions to the hosts ended",
    )
    return redirects(hosts)


async def _drained(redis_url: str) -> bool:
    """The click stream is empty and no entry awaits acknowledgement (a dead host's too)."""
    redis = Redis.from_url(redis_url)
    try:
        pending = await redis.xpending("shortener:clicks", "flushers")
        return int(pending["pending"]) == 0 and await redis.xlen("shortener:clicks") == 0
    finally:
        await redis.aclose()


async def _counted(database_url: str, keys: list[str]) -> tuple[int, int]:
    """(the links' click counters, their raw click rows)."""
    conn = await asyncpg.connect(database_url)
    try:
        counters = await conn.fetchval(
            "SELECT coalesce(sum(clicks + bot_clicks), 0) FROM links WHERE key = ANY($1)", keys
        )
        rows = await conn.fetchval(
            "SELECT count(*) FROM clicks JOIN links ON links.id = clicks.link_id"
            " WHERE links.key = ANY($1)",
            keys,
        )
        return int(counters), int(rows)
    finally:
        await conn.close()


def counted_when_drained(hosts: Hosts, keys: list[str], timeout: float = 30) -> tuple[int, int]:
    """(click counters, click rows) of `keys` once every queued click has been written."""
    wait_until(
        lambda: hosts.client.call(_drained(hosts.redis_url)),
        timeout=timeout,
        what="the click stream drained",
    )
    return hosts.client.call(_counted(hosts.database_url, keys))


@dataclass
class Failover:
    """One app host SIGKILLed under load, and what it cost."""

    load: Load
    detected_s: float  # from the SIGKILL to HAProxy's DOWN
    dead_rate: float  # redirects/s the killed host answered before
    survivor_after_down: int  # redirects the other host answered after the DOWN
    relayed: int  # redirects the hosts answered (HAProxy's count, wrk's abandoned ones too)
    counters: int  # clicks counted in the database for the load (links' counters)
    rows: int  # raw click rows written for the load

    @property
    def lost(self) -> int:
        return self.relayed - self.counters


def kill_one_host_under_load(
    hosts: Hosts, keys: list[str], *, seconds: int = 8, connections: int = 32
) -> Failover:
    """wrk through the balancer; once both hosts have answered for 2 s, every process of app1
    is SIGKILLed; returns once wrk is done and the survivors have flushed every click."""
    counted_before, rows_before = counted_when_drained(hosts, keys)
    before = redirects(hosts)
    started = time.monotonic()
    process = start_wrk(hosts, keys, seconds=seconds, connections=connections)
    try:
        wait_until(
            lambda: (
                min(n - before[h] for h, n in redirects(hosts).items()) >= 200
                and time.monotonic() - started >= 2
            ),
            timeout=30,
            what="load reaching both hosts",
        )
        at_kill = redirects(hosts)
        killed = time.monotonic()
        hosts.network.kill_host("app1")
        wait_until(
            lambda: hosts.stats()["app1"]["status"].startswith("DOWN"),
            timeout=10,
            what="app1 DOWN in HAProxy",
        )
        detected = time.monotonic() - killed
        at_down = redirects(hosts)
        seen = load(process, timeout=seconds + 60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after = settled_redirects(hosts)
    counters, rows = counted_when_drained(hosts, keys)
    return Failover(
        load=seen,
        detected_s=detected,
        dead_rate=(at_kill["app1"] - before["app1"]) / (killed - started),
        survivor_after_down=after["app2"] - at_down["app2"],
        relayed=sum(after[h] - before[h] for h in after),
        counters=counters - counted_before,
        rows=rows - rows_before,
    )
