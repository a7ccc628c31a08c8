"""A PostgreSQL primary and its streaming replica, of the test's own, on free local ports.

Both are clusters made here from Debian's server binaries (initdb, then pg_basebackup -R of
it), run as the `postgres` user: the machine's own server is left alone (making it accept
replication would need a restart). initdb's pg_hba.conf already lets local connections
replicate, and wal_level defaults to `replica`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.hosts import PG_BIN
from tests.processes import free_port, wait_until

AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]


class Cluster:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        assert PG_BIN is not None
        argv = [*AS_POSTGRES, str(PG_BIN / "postgres"), "-D", str(self.pgdata)]
        for setting in (
            "listen_addresses=127.0.0.1",
            f"port={self.port}",
            f"unix_socket_directories={self.pgdata}",
            "fsync=off",  # throwaway clusters: a fast start, not durability, is wanted
        ):
            argv += ["-c", setting]
        log = (self.pgdata.parent / f"{self.pgdata.name}.log").open("ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=log)
        ready = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        wait_until(
            lambda: subprocess.run(ready).returncode == 0, timeout=30, what=f"{self.pgdata.name}"
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        argv = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        done = subprocess.run([*argv, "-Atc", sql], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql: {done.stderr}")
        return done.stdout.strip()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def _run(argv: list[str]) -> None:
    done = subprocess.run([*AS_POSTGRES, *argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]}: {done.stderr}")


@contextlib.contextmanager
def primary_and_replica(database: str) -> Iterator[tuple[Cluster, Cluster]]:
    """A primary holding an empty `database`, and a hot-standby replica streaming from it."""
    if PG_BIN is None:
        raise RuntimeError("PostgreSQL's binaries are not under /usr/lib/postgresql/*/bin")
    # Not under pytest's tmp_path: those directories are closed to the postgres user.
    root = Path(tempfile.mkdtemp(prefix="shortener-replica-"))
    entry = pwd.getpwnam("postgres")
    os.chown(root, entry.pw_uid, entry.pw_gid)
    primary, replica = Cluster(root / "primary"), Cluster(root / "replica")
    try:
        initdb = [str(PG_BIN / "initdb"), "-D", str(primary.pgdata), "-A", "trust"]
        _run([*initdb, "-U", "postgres", "--no-sync"])
        primary.start()
        primary.psql(f'CREATE DATABASE "{database}"')
        _run(
            [
                str(PG_BIN / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
                *("-D", str(replica.pgdata), "-R", "-X", "stream", "-c", "fast"),
            ]
        )
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)
