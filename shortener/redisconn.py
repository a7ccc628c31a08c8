"""The Redis client, tuned so a dead or hung Redis costs a request milliseconds, not seconds.

redis-py's defaults (5 s timeouts, ten retries with backoff) would make every redirect wait
tens of seconds on a hung Redis. We connect with small timeouts and one quick retry, and a
circuit breaker shared by the app's Redis users: after a failure, callers skip Redis for a few
seconds and use their fallback (the database, the local click buffer, in-process counters);
then one caller probes, and its success closes the breaker for everyone.

With REDIS_CLUSTER the client is a RedisCluster. Most commands read the same on both; the few
that do not (a look-up of many keys, counting a channel's subscribers) are the helpers below.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from shortener.config import Settings

# What a failing Redis raises: every Redis user catches these and falls back.
# (A cluster's own errors, slots not covered during a failover say, are not RedisErrors.)
# A connection torn away under a command: when a node answers CLUSTERDOWN (during a
# failover), redis-py's async cluster client closes every connection it holds to re-read the
# slots, also those other tasks are using at that moment. Those tasks then fail inside the
# library, not with a ConnectionError: AttributeError on asyncio's streams ("'NoneType' object
# has no attribute 'writelines'"), RuntimeError on uvloop ("unable to perform operation on
# <TCPTransport closed=True>"), both seen under load in tests/reliability/test_redis_cluster.py;
# TypeError on Python 3.12's asyncio (redis/redis-py#3546). To the caller each is one more way
# Redis failed, and a redirect must not answer 500 for it. (Where a block that catches these
# also reads what Redis sent, stream entries or pub/sub messages, a mistake of ours there
# would be logged as Redis trouble; the tests count clicks and messages exactly.)
TORN_CONNECTION = (AttributeError, RuntimeError, TypeError)
REDIS_ERRORS = (
    RedisError,
    RedisClusterException,
    OSError,
    asyncio.TimeoutError,
    *TORN_CONNECTION,
)


RedisClient: TypeAlias = Redis | RedisCluster


def make_redis(settings: Settings) -> RedisClient | None:
    if not settings.redis_url:
        return None
    # One retry for a dropped connection (a pooled socket Redis closed on restart; on a
    # cluster, a master that died: the retry reads the slots again first); none for a
    # timeout: a Redis that did not answer in time will not answer the retry either.
    retry = Retry(
        ExponentialBackoff(cap=0.05, base=0.01),
        retries=1,
        supported_errors=(RedisConnectionError,),
    )
    client = RedisCluster if settings.redis_cluster else Redis
    return client.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_connect_timeout,
        socket_timeout=settings.redis_socket_timeout,
        retry=retry,
    )


async def open_pubsub(redis: RedisClient, **options: Any) -> Any:
    """A pub/sub connection (PubSub, or ClusterPubSub on a cluster). A cluster client learns
    its slots on its first command, and a ClusterPubSub can only be placed once it has."""
    if isinstance(redis, RedisCluster):
        await redis.initialize()
    return redis.pubsub(**options)


async def get_many(redis: RedisClient, keys: Sequence[str]) -> list[Any]:
    """GET of each key, in order, in one round trip per node: a cluster refuses an MGET whose
    keys lie in several slots, so there the keys are grouped by slot (a pipeline of MGETs)."""
    if isinstance(redis, RedisCluster):
        return list(await redis.mget_nonatomic(list(keys)))
    return list(await redis.mget(list(keys)))


async def subscribers(redis: RedisClient, channels: Sequence[str]) -> dict[bytes, int]:
    """How many connections, over the whole deployment, subscribe to each channel.

    A cluster node counts only its own subscribers (a worker subscribes on whichever node its
    client chose), so there every node is asked and the counts are added up."""
    if not channels:
        return {}
    if isinstance(redis, RedisCluster):
        counts = await redis.pubsub_numsub(*channels, target_nodes=RedisCluster.ALL_NODES)
    else:
        counts = await redis.pubsub_numsub(*channels)
    found = {channel.encode(): 0 for channel in channels}
    for channel, count in counts:
        name = channel if isinstance(channel, bytes) else str(channel).encode()
        found[name] = found.get(name, 0) + int(count)
    return found


async def publish(redis: RedisClient, channel: str, message: str | bytes) -> int:
    """PUBLISH; returns how many subscribers it reached. On a cluster the message reaches
    every node's subscribers but PUBLISH counts only those of the node that took it, so the
    count is the cluster-wide one read just before (a subscriber that joins in between is
    not counted, one that leaves in between is: whoever waits for answers times out)."""
    if isinstance(redis, RedisCluster):
        expected = (await subscribers(redis, [channel]))[channel.encode()]
        await redis.publish(channel, message)
        return expected
    return int(await redis.publish(channel, message))


class CircuitBreaker:
    """Closed: use Redis. Open (after a failure): skip it until `cooldown` has passed.

    Once the cooldown is over, the next caller is let through as the probe and the breaker
    stays open for the others until the probe reports; a probe that never reports (cancelled)
    is simply replaced by another after the next cooldown.
    """

    def __init__(self, cooldown: float) -> None:
        self._cooldown = cooldown
        self._open_until = 0.0
        self._open = False
        self.trips = 0
        self.failures = 0  # every failed Redis call reported here (read by the metrics)

    @property
    def is_open(self) -> bool:
        return self._open

    def allow(self) -> bool:
        if not self._open:
            return True
        now = time.monotonic()
        if now < self._open_until:
            return False
        self._open_until = now + self._cooldown  # this caller probes; the others keep skipping
        return True

    def failure(self) -> None:
        self.failures += 1
        if not self._open:
            self.trips += 1
        self._open = True
        self._open_until = time.monotonic() + self._cooldown

    def success(self) -> None:
        self._open = False
        self._open_until = 0.0
