"""Shared pieces of the benchmarks: free ports, servers as subprocesses, wrk, a tiny HTTP client."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    # Processes that work for this server (a flusher of its own), stopped after it.
    companions: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        for process in (self.process, *self.companions):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        return int(self.process.returncode)


def start(name: str, argv: list[str], env: dict[str, str], ready_path: str = "/healthz") -> Server:
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    log = open(ROOT / "bench" / "results" / f"{name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT)
    server = Server(name, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited early; see bench/results/{name}.log")
        try:
            httpx.get(server.url + ready_path, timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    sys.exit(f"{name} did not start in time")


def start_baseline(env: dict[str, str] | None = None, name: str = "baseline") -> Server:
    """The bare ASGI app (bench/baseline.py) on the same uvicorn (uvloop + httptools)."""
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", "bench", "baseline:app"]
    argv += ["--port", "{port}", "--no-access-log", "--loop", "uvloop", "--http", "httptools"]
    return start(name, argv, env or {}, ready_path="/bench")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU time (user + system) a process has used so far, every thread, or only `thread`
    (a thread id: the process's own id is its main thread, where uvicorn runs the event
    loop); Linux only."""
    stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, *, duration: float, connections: int, script: Path | None = None) -> WrkResult:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk (Debian's package)")
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    non_3xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if not (p50 and p99 and rps and total):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = int(non_3xx.group(1)) if non_3xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return WrkResult(
        float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)), errors
    )


# The data stores a benchmark's service talks to: their processes' CPU is the service's too.
STORES = ("postgres", "redis-server")


def stores_cpu_seconds() -> float:
    """CPU time used so far by every PostgreSQL and Redis process on the machine; Linux only."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in STORES:
                total += cpu_seconds(int(comm.parent.name))
        except OSError:  # the process has ended
            continue
    return total


def machine_cpu_seconds() -> float:
    """CPU time every core has spent busy so far (the load generator's included); Linux only."""
    user, nice, system, _idle, _iowait, *rest = Path("/proc/stat").read_text().split()[1:9]
    return (int(user) + int(nice) + int(system) + sum(map(int, rest))) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB; Linux only."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _worker(port: int, paths: list[str], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for path in paths:
            writer.write(
                b"GET "
                + path.encode()
                + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench/1.0\r\n\r\n"
            )
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def exact_requests(port: int, paths: list[str], connections: int) -> dict[int, int]:
    """GET each of `paths` once over `connections` keep-alive connections; count each answer."""
    statuses: dict[int, int] = {}
    shares = [paths[i::connections] for i in range(connections)]

    async def run() -> None:
        await asyncio.gather(*(_worker(port, share, statuses) for share in shares if share))

    asyncio.run(run())
    return statuses


async def workspace_of(session: Any, user: Any) -> int:
    """The id of `user`'s personal workspace, which owns the links a benchmark inserts
    directly (made here for a user a benchmark inserted itself, as every account has one)."""
    from sqlalchemy import select

    from shortener.models import Workspace
    from shortener.workspaces.service import create_personal

    found = (
        await session.execute(select(Workspace.id).where(Workspace.personal_user_id == user.id))
    ).scalar_one_or_none()
    if found is None:
        found = (await create_personal(session, user=user)).id
    return int(found)
