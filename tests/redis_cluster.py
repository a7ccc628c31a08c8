"""A Redis Cluster of the test's own: Debian's redis-server on free local ports, three masters
with a replica each, joined by `redis-cli --cluster create`, in a temporary directory."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path

from redis import Redis
from redis.cluster import key_slot

from tests.processes import free_port, wait_until


class ClusterNode:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.bus_port = free_port()  # not port + 10000: that may be taken, or past 65535
        self.dir = root / str(self.port)
        self.dir.mkdir(parents=True)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Nothing on disk: the cluster lives for one test; replicas are its copies.
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--cluster-port",
                str(self.bus_port),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                # A master is declared failed, and its replica elected, after about a second.
                "--cluster-node-timeout",
                "1000",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=(self.dir / "log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self.client().ping(), timeout=10, what=f"redis node {self.port}")

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def info(self, section: str) -> dict[str, object]:
        with contextlib.closing(self.client()) as client:
            return dict(client.info(section))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


class RedisClusterServers:
    def __init__(self, root: Path, masters: int = 3, replicas: int = 1) -> None:
        self.nodes = [ClusterNode(root) for _ in range(masters * (1 + replicas))]
        self.replicas = replicas

    @property
    def url(self) -> str:
        """One node: the client learns the others from it."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *addresses,
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_until(self.settled, timeout=30, what="cluster state ok on every node")

    def alive(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.process is not None]

    def settled(self) -> bool:
        """Every live node says the cluster is ok and agrees on who serves each slot, and each
        of those masters is alive.

        The last part matters right after a kill: until the node timeout has passed, every node
        still says "ok" and names the dead master; the cluster goes down only then, until its
        replica is elected."""
        views = set()
        for node in self.alive():
            with contextlib.closing(node.client()) as client:
                if client.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                    return False
                views.add(self._masters_view(client))
        if len(views) != 1:
            return False
        alive = {node.port for node in self.alive()}
        return all(port in alive for _, _, port in views.pop())

    @staticmethod
    def _masters_view(client: Redis) -> tuple[tuple[int, int, int], ...]:
        slots = client.execute_command("CLUSTER SLOTS")
        return tuple(sorted((int(s[0]), int(s[1]), int(s[2][1])) for s in slots))

    def master_of(self, key: str) -> ClusterNode:
        slot = key_slot(key.encode())
        with contextlib.closing(self.alive()[0].client()) as client:
            for start, end, port in self._masters_view(client):
                if start <= slot <= end:
                    return self._node(port)
        raise AssertionError(f"no master serves slot {slot}")

    def masters(self) -> set[int]:
        with contextlib.closing(self.alive()[0].client()) as client:
            return {port for _, _, port in self._masters_view(client)}

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        for node in self.alive():
            info = node.info("replication")
            if info.get("role") == "slave" and int(str(info["master_port"])) == master.port:
                return node
        raise AssertionError(f"no replica of {master.port}")

    def failover(self, master: ClusterNode) -> ClusterNode:
        """A manual failover (CLUSTER FAILOVER on the replica): the replica waits until it has
        every write of its master, then takes its slots; nothing acknowledged is lost."""
        replica = self.replica_of(master)
        with contextlib.closing(replica.client()) as client:
            client.execute_command("CLUSTER FAILOVER")
        wait_until(
            lambda: replica.info("replication").get("role") == "master" and self.settled(),
            timeout=30,
            what=f"replica {replica.port} takes over from {master.port}",
        )
        return replica

    def _node(self, port: int) -> ClusterNode:
        return next(node for node in self.nodes if node.port == port)

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
