"""How many queued clicks a crash of Redis itself would cost, read from Redis' own settings.

Clicks wait in the Redis stream from the redirect until a flusher's database commit (about a
flush interval, CLICK_FLUSH_INTERVAL). What a SIGKILL, a crash or a power cut of Redis
loses of them depends on its persistence:

- appendonly yes, appendfsync always:   nothing acknowledged.
- appendonly yes, appendfsync everysec: at most about the last second of clicks (the
  Redis default for AOF, and what compose.yaml runs).
- appendonly no (RDB snapshots or nothing): every click then in the stream.

`shortener doctor`, /readyz (`click_durability`) and each worker's start-up log say which one
applies. A managed Redis may refuse CONFIG GET; then the answer is "unknown".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster

from shortener.redisconn import REDIS_ERRORS, RedisClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Durability:
    summary: str  # for /readyz and logs: "aof everysec", "none", "unknown"
    loses_queued_clicks: bool  # every click in the stream dies with Redis
    advice: str = ""

    @property
    def sentence(self) -> str:
        return f"{self.summary}: {self.advice}" if self.advice else self.summary


UNKNOWN = Durability(
    "unknown",
    False,
    "Redis refused CONFIG GET; make sure it runs with appendonly yes (appendfsync everysec), "
    "or clicks waiting in its stream die with it",
)
NONE = Durability(
    "none",
    True,
    "Redis keeps nothing on disk (appendonly no): clicks queued in its stream die with it. "
    "Run it with appendonly yes and appendfsync everysec (at most ~1 s of clicks lost)",
)


def judge(config: dict[str, Any]) -> Durability:
    """From CONFIG GET appendonly appendfsync of one Redis."""
    if str(config.get("appendonly", "")).lower() != "yes":
        return NONE
    fsync = str(config.get("appendfsync", "everysec")).lower()
    if fsync == "always":
        return Durability("aof always", False)
    if fsync == "everysec":
        return Durability("aof everysec", False, "a crash of Redis loses at most ~1 s of clicks")
    return Durability(
        f"aof {fsync}",
        False,
        "appendfsync no leaves flushing to the OS: a power cut may lose ~30 s of clicks; "
        "use appendfsync everysec",
    )


async def read_durability(redis: RedisClient) -> Durability:
    """On a cluster every master is asked (the stream lives on one of them, and moves)
    and the weakest answer given. Raises what Redis raises when it is unreachable."""
    configs: list[Any]
    try:
        if isinstance(redis, RedisCluster):
            per_node: Any = await redis.config_get("append*", target_nodes=RedisCluster.PRIMARIES)
            configs = list(per_node.values())
        else:
            configs = [await redis.config_get("append*")]
    except REDIS_ERRORS as exc:
        if "unknown command" in str(exc).lower() or "noperm" in str(exc).lower():
            return UNKNOWN
        raise
    verdicts = [judge(config) for config in configs] or [UNKNOWN]
    return next((v for v in verdicts if v.loses_queued_clicks), verdicts[0])


async def log_durability(redis: RedisClient) -> None:
    """At a worker's start: a warning when queued clicks would die with Redis."""
    try:
        durability = await read_durability(redis)
    except REDIS_ERRORS as exc:
        log.warning("could not read Redis' persistence settings (%s)", exc)
        return
    if durability.loses_queued_clicks or durability is UNKNOWN:
        log.warning("click queue durability %s", durability.sentence)
    else:
        log.info("click queue durability: %s", durability.sentence)
