"""Hosts on one machine: network namespaces of a run's own, each with a veth link to a bridge.

The bridge lives in a namespace of its own too, so nothing the hosts send reaches the machine's
own network stack. Names carry the creating process's id and a random suffix; `close()` kills
every process started in the hosts (by process group) and deletes the namespaces, and `sweep()`
removes what a run killed outright (its process gone) left behind.

Used by tests/reliability/test_several_hosts.py and bench/hosts_bench.py (tests/hosts.py builds
the service on top). Needs root and iproute2's `ip netns`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PREFIX = "shn-"  # every namespace this module makes starts with it
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    name = f"{PREFIX}{os.getpid()}-probe{secrets.token_hex(2)}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def sweep() -> None:
    """Delete the namespaces (and kill the processes in them) of runs whose process is gone."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _delete(name)


def _delete(name: str) -> None:
    """Kill what runs in the namespace, then delete it. A postmaster is asked to quit (an
    immediate shutdown that still removes its shared memory) before anything is killed."""
    listed = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    pids = [int(pid) for pid in listed.stdout.split()]
    postmasters = [
        pid for pid in pids if _comm(pid) == "postgres" and _comm_of_parent(pid) != "postgres"
    ]
    for pid in postmasters:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in postmasters) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _alive(pid: int) -> bool:
    """Running (a zombie, which our Popen has yet to reap, has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _comm_of_parent(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return _comm(int(stat.rsplit(")", 1)[1].split()[1]))


class Network:
    """A bridge and hosts on 10.77.0.0/24; `add_host` gives each an address of its own."""

    SUBNET = "10.77.0"

    def __init__(self) -> None:
        self.tag = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        self.hosts: dict[str, str] = {}  # host name -> its address
        self._namespaces: list[str] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._lan = self._namespace("lan")
        _ip("-n", self._lan, "link", "add", "br0", "type", "bridge")
        _ip("-n", self._lan, "link", "set", "br0", "up")

    def _namespace(self, host: str) -> str:
        name = f"{self.tag}-{host}"
        _ip("netns", "add", name)
        self._namespaces.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        return name

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def add_host(self, host: str) -> str:
        """A namespace with eth0 on the bridge; returns its address."""
        address = f"{self.SUBNET}.{len(self.hosts) + 2}"
        name = self._namespace(host)
        port = f"p{len(self.hosts)}"  # the bridge's side, named inside the bridge's namespace
        # Both ends are made in their namespaces: no name is ever taken in the machine's own.
        _ip(
            "link",
            "add",
            "eth0",
            "netns",
            name,
            "type",
            "veth",
            "peer",
            "name",
            port,
            "netns",
            self._lan,
        )
        _ip("-n", self._lan, "link", "set", port, "master", "br0", "up")
        _ip("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", name, "link", "set", "eth0", "up")
        self.hosts[host] = address
        return address

    def start(
        self,
        host: str,
        argv: list[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """`argv` in the host's namespace, in a process group of its own (see `kill_host`)."""
        with log.open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace(host), *argv],
                env=env,
                cwd=log.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes.append(process)
        return process

    def run(self, host: str, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.namespace(host), *argv],
            capture_output=True,
            text=True,
            **kwargs,
        )

    def kill_host(self, host: str) -> None:
        """SIGKILL every process of the host: all that run in its namespace, as a power cut."""
        pids = subprocess.run(
            ["ip", "netns", "pids", self.namespace(host)], capture_output=True, text=True
        ).stdout.split()
        groups = {os.getpgid(int(pid)) for pid in pids if Path(f"/proc/{pid}").exists()}
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)

    def close(self) -> None:
        """Ends every process in the hosts (PostgreSQL cleanly) and deletes the namespaces."""
        for name in reversed(self._namespaces):
            _delete(name)
        self._namespaces.clear()
        for process in self._processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def _join(namespace: str) -> None:
    """Moves the calling thread (only it) into the namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / namespace, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {namespace}")
    finally:
        os.close(fd)


def call_in(namespace: str, fn: Callable[[], T]) -> T:
    """`fn()` in a thread of its own that joined the namespace (the thread ends with it)."""
    result: Future[T] = Future()

    def run() -> None:
        try:
            _join(namespace)
            result.set_result(fn())
        except BaseException as exc:
            result.set_exception(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()
    return result.result()


class HostLoop:
    """An event loop in a thread that joined a host's namespace: the sockets it opens (httpx,
    redis-py, asyncpg) are that host's, so the test talks to the hosts as a neighbour would.

    A network namespace belongs to a thread (setns), so the thread is one of our own and ends
    with the loop."""

    def __init__(self, namespace: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._joined: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(namespace,), daemon=True)
        self._thread.start()
        self._joined.result(timeout=10)

    def _run(self, namespace: str) -> None:
        try:
            _join(namespace)
        except OSError as exc:
            self._joined.set_exception(exc)
            return
        asyncio.set_event_loop(self._loop)
        self._joined.set_result(None)
        self._loop.run_forever()
        self._loop.close()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the host's loop; await its result from any other loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the host's loop; block until its result (for synchronous callers)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
