"""Every Redis key and channel the service uses, named in one place (a leaf).

Everything starts with REDIS_PREFIX, so deployments and test runs can share one Redis.

On a Redis Cluster (REDIS_CLUSTER=true) a key lives in the hash slot of its name, or of the
part between its first `{` and `}` (a hash tag). Keys used together by one command or one
transaction must share a slot; spreading the rest is what shards the load. Today:

- link:<key>           one string per link, spread over the slots on purpose; look-ups of many
                       links are split by slot (redisconn.get_many), never one cross-slot MGET.
- clicks               the click stream and its consumer group (a group lives in its stream's
                       key); every stream command names this one key.
- clicks:count         the stream's click count, written in the same pipelines as the stream
                       but by its own commands: no command needs both, so no hash tag. (A
                       tag would also have renamed one of them, stranding a stream's clicks
                       or its count on upgrade.)
- rl:<rule>:<id>:<w>   one counter per window: INCRBY and EXPIRE in one transaction on the one
                       key, a single slot by construction.
- channels             link-invalidate, link-ack and live:<link id>: Redis pub/sub channels are
                       not keys; a cluster carries a PUBLISH to subscribers on every node.

So nothing here needs a hash tag. A REDIS_PREFIX holding `{...}` would be one for every key
and put the whole service on one slot (one master): do not put braces in it on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str

    # ---- the link cache and its invalidation (shortener/cache.py) ----------------------------
    def link(self, key: str) -> str:
        return f"{self.prefix}link:{key}"

    @property
    def link_changes(self) -> str:
        """Channel: "<ack id> <key> <key>...", the links that changed."""
        return f"{self.prefix}link-invalidate"

    @property
    def link_acks(self) -> str:
        """Channel: each worker answers a change's ack id once it has forgotten the keys."""
        return f"{self.prefix}link-ack"

    # ---- the click queue (shortener/clicks/queue.py) ------------------------------------------
    @property
    def click_stream(self) -> str:
        return f"{self.prefix}clicks"

    @property
    def click_count(self) -> str:
        return f"{self.prefix}clicks:count"

    # ---- rate limits (shortener/ratelimit.py) ---------------------------------------------
    def rate(self, rule: str, digest: str, window: int) -> str:
        return f"{self.prefix}rl:{rule}:{digest}:{window}"

    # ---- the live feed (shortener/live/broker.py) -----------------------------------------
    @property
    def live_prefix(self) -> str:
        return f"{self.prefix}live:"

    def live(self, link_id: int) -> str:
        return f"{self.live_prefix}{link_id}"
