"""The deployment of docs/deploy.md ("Several hosts") on one machine, in network namespaces:

    front  10.77.0.2   HAProxy, health checks on /readyz; wrk and the test's client run here
    data   10.77.0.3   a PostgreSQL cluster and a redis-server of the run's own (AOF everysec)
    app1   10.77.0.4   shortener serve --workers 2
    app2   10.77.0.5   shortener serve --workers 2

Shared by tests/reliability/test_several_hosts.py and bench/hosts_bench.py.
"""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shortener.migrate import upgrade
from tests.netns import HostLoop, Network, call_in
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parent.parent
APP_PORT = 8000
# Debian's PostgreSQL server binaries, the newest major version installed.
_PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: float(p.split("/")[4]))
PG_BIN = Path(_PG_BINS[-1]) if _PG_BINS else None
# HAProxy's health checks, as docs/deploy.md recommends them.
CHECK_INTER_MS = 500
CHECK_FALL = 2

HAPROXY_CFG = """\
global
    maxconn 4096
    stats socket {dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check 1s
    option forwardfor
    # A request the dead host never answered (refused, or closed without a byte) goes to
    # another: no answer was sent, so no click was counted for it.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend web
    bind {front}:80
    default_backend apps

backend apps
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host {front}
    http-check expect status 200
    default-server inter {inter}ms fall {fall} rise 2
{servers}
"""


@dataclass
class Hosts:
    """Everything the deployment runs; `close()` stops all of it and removes the namespaces."""

    network: Network
    workdir: Path
    database_url: str
    redis_url: str
    apps: dict[str, str]  # host -> base URL
    front_url: str
    client: HostLoop  # an event loop on the front host

    def close(self) -> None:
        """Kills every process of every host, removes the namespaces and the database."""
        self.client.close()
        self.network.close()
        _remove_pgdata(self.workdir)

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's `show stat` for the backend's servers: name -> fields (status, hrsp_3xx...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.workdir / "haproxy.sock"))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
        return {r["svname"]: r for r in rows if r["pxname"] == "apps"}

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""


def app_env(database_url: str, redis_url: str, front: str, **extra: str) -> dict[str, str]:
    """The environment every app host shares (docs/deploy.md, "Several hosts")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update(
        PYTHONPATH=str(ROOT),
        ENVIRONMENT="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        REDIS_PREFIX="shortener:",
        SECRET_KEY="several-hosts-secret-key-that-is-long-enough",
        BASE_URL="http://sho.rt",
        TRUSTED_PROXIES=f"127.0.0.1,::1,{front}",
        RATE_LIMITS_ENABLED="false",
        # Cached links live long: only the acknowledged invalidation can make a change visible.
        LINK_CACHE_TTL="300",
    )
    env.update(extra)
    return env


def _start_data(network: Network, workdir: Path) -> tuple[str, str]:
    """PostgreSQL (a fresh cluster: initdb) and Redis on the data host; returns their URLs."""
    if PG_BIN is None:
        raise RuntimeError("PostgreSQL's binaries are not under /usr/lib/postgresql/*/bin")
    address = network.hosts["data"]
    # Not under workdir: pytest's temporary directories are closed to other users.
    pgdata = Path(tempfile.mkdtemp(prefix=f"{network.tag}-pg-"))
    os.chown(pgdata, *_postgres_ids())
    (workdir / "pgdata").symlink_to(pgdata)
    as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    initdb = [str(PG_BIN / "initdb"), "-D", str(pgdata), "-A", "trust", "-U", "postgres"]
    made = subprocess.run([*as_postgres, *initdb, "--no-sync"], capture_output=True, text=True)
    if made.returncode != 0:
        raise RuntimeError(f"initdb: {made.stderr}")
    with (pgdata / "pg_hba.conf").open("a") as hba:  # the hosts' network, no password
        hba.write(f"host all all {network.SUBNET}.0/24 trust\n")
    settings = [
        f"listen_addresses={address}",
        f"unix_socket_directories={pgdata}",
        # A throwaway cluster: durability is not what is tested here, speed of start is.
        "fsync=off",
        "synchronous_commit=off",
        "max_connections=300",  # hosts x workers x 34 (docs/deploy.md, "Sizing"), and ours
    ]
    argv = [*as_postgres, str(PG_BIN / "postgres"), "-D", str(pgdata)]
    for setting in settings:
        argv += ["-c", setting]
    network.start("data", argv, log=workdir / "postgres.log")
    ready = [str(PG_BIN / "pg_isready"), "-q", "-h", address, "-U", "postgres"]
    wait_until(lambda: network.run("data", ready).returncode == 0, timeout=30, what="postgres")
    made = network.run(
        "data", ["psql", "-h", address, "-U", "postgres", "-c", "CREATE DATABASE shortener"]
    )
    if made.returncode != 0:
        raise RuntimeError(made.stderr)
    redis = ["redis-server", "--bind", address, "--port", "6379", "--save", "", "--dir"]
    redis += [str(workdir), "--appendonly", "yes", "--appendfsync", "everysec"]
    network.start("data", [*redis, "--protected-mode", "no"], log=workdir / "redis.log")
    ping = ["redis-cli", "-h", address, "ping"]
    wait_until(lambda: network.run("data", ping).stdout.strip() == "PONG", timeout=10, what="redis")
    return f"postgresql://postgres@{address}:5432/shortener", f"redis://{address}:6379/0"


def _remove_pgdata(workdir: Path) -> None:
    link = workdir / "pgdata"
    if link.is_symlink():
        shutil.rmtree(link.resolve(), ignore_errors=True)
        link.unlink()


def _postgres_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def _haproxy(network: Network, workdir: Path, apps: dict[str, str]) -> None:
    servers = "\n".join(f"    server {h} {a}:{APP_PORT} check" for h, a in apps.items())
    config = HAPROXY_CFG.format(
        dir=workdir,
        front=network.hosts["front"],
        inter=CHECK_INTER_MS,
        fall=CHECK_FALL,
        servers=servers,
    )
    (workdir / "haproxy.cfg").write_text(config)
    network.start(
        "front", ["haproxy", "-db", "-f", str(workdir / "haproxy.cfg")], log=workdir / "haproxy.log"
    )


def start(workdir: Path, **env: str) -> Hosts:
    """Builds the hosts and starts everything; on any failure, removes what it made."""
    network = Network()
    client: HostLoop | None = None
    try:
        front = network.add_host("front")
        network.add_host("data")
        apps = {h: network.add_host(h) for h in ("app1", "app2")}
        database_url, redis_url = _start_data(network, workdir)
        environment = app_env(database_url, redis_url, front, **env)
        # Migrations once, before the hosts start (docs/deploy.md, "Upgrades"): what
        # `shortener migrate` does, from app1, in this process (one Python start less).
        call_in(network.namespace("app1"), lambda: upgrade(database_url))
        shortener = [sys.executable, "-m", "shortener.cli"]
        for host, address in apps.items():
            serve = [*shortener, "serve", "--host", address, "--port", str(APP_PORT)]
            network.start(
                host, [*serve, "--workers", "2"], log=workdir / f"{host}.log", env=environment
            )
        _haproxy(network, workdir, apps)
        client = HostLoop(network.namespace("front"))
        hosts = Hosts(
            network=network,
            workdir=workdir,
            database_url=database_url,
            redis_url=redis_url,
            apps={h: f"http://{a}:{APP_PORT}" for h, a in apps.items()},
            front_url=f"http://{front}",
            client=client,
        )
    except BaseException:
        if client is not None:
            client.close()
        network.close()
        _remove_pgdata(workdir)
        raise

    def all_up() -> bool:
        try:
            return all(s["status"] == "UP" for s in hosts.stats().values())
        except OSError:  # HAProxy's socket is not there yet
            return False

    try:
        wait_until(all_up, timeout=90, what="both app hosts up in HAProxy")
    except BaseException:
        logs = "\n".join(f"== {h}\n{hosts.log(h)}" for h in ("app1", "app2", "haproxy"))
        hosts.close()
        raise AssertionError(logs) from None
    return hosts
