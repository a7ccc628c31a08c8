"""KnownKeys: a per-worker Bloom filter of the keys that exist, so an unknown key (a scanner's
guess, a typo) is answered without a look-up, and no stream of made-up keys can wear the cache.

"Not in the filter" is certain, "in the filter" only likely: a false positive costs the usual
look-up, never a wrong answer. Keys are only ever added (a deleted key stays "likely": its
look-up says 404). The LinkCache owns the filter, fills it from the database at start and
after every gap in the invalidation channel, adds every key it is told changed (the hook
called after every create), and trusts it only while both hold.

Sizing: 9.6 bits a key for a 1 % false-positive rate at capacity, so 1.2 MB per million keys;
the capacity is at least a million keys and twice the keys at load, so the rate stays far
below 1 % until the filter is rebuilt (when the keys added pass the capacity).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from sqlalchemy.ext.asyncio import AsyncEngine

from shortener.redirect.lookup import keys_after

log = logging.getLogger(__name__)

MIN_CAPACITY = 1_000_000
# The filter also reads the keys added since it last looked, every few seconds: a link
# written without the hook (a bulk import, a script) is known within this, and ids that
# committed out of order (PostgreSQL sequences) within the look-back.
KEYS_POLL_SECONDS = 2.0
KEYS_LOOK_BACK = 1000
FALSE_POSITIVE_RATE = 0.01
_MASK32 = 0xFFFFFFFF


class KnownKeys:
    def __init__(self, capacity: int = MIN_CAPACITY) -> None:
        self.capacity = max(capacity, 1)
        bits = math.ceil(-self.capacity * math.log(FALSE_POSITIVE_RATE) / math.log(2) ** 2)
        self._bits = bytearray((bits + 7) // 8)
        self._size = len(self._bits) * 8
        self._hashes = max(1, round(bits / self.capacity * math.log(2)))  # 7 for 1 %
        self.count = 0  # keys added (a key added twice counts twice: an upper bound)
        # Whether a multi-segment key was added: until one is, a redirect's path has only one
        # candidate key (its first segment; see redirect/entry.py).
        self.slashed = False

    @property
    def nbytes(self) -> int:
        return len(self._bits)

    @property
    def full(self) -> bool:
        return self.count >= self.capacity

    # Python's own string hash (SipHash, cached on the string, salted per process: this filter
    # never leaves its process), split in two for double hashing. Loops written out: this runs
    # for every key a worker has no entry for, and a scanner's keys leave after a probe or two.
    def add(self, key: str) -> None:
        if "/" in key:
            self.slashed = True
        h = hash(key)
        h1, h2 = h & _MASK32, ((h >> 32) & _MASK32) | 1
        bits, size = self._bits, self._size
        for _ in range(self._hashes):
            p = h1 % size
            bits[p >> 3] |= 1 << (p & 7)
            h1 += h2
        self.count += 1

    def __contains__(self, key: str) -> bool:
        h = hash(key)
        h1, h2 = h & _MASK32, ((h >> 32) & _MASK32) | 1
        bits, size = self._bits, self._size
        for _ in range(self._hashes):
            p = h1 % size
            if not bits[p >> 3] & (1 << (p & 7)):
                return False
            h1 += h2
        return True


class KeyFilter:
    """The filter of one worker and its upkeep: `current` is the filter to trust, or None
    while none is (not read yet, or a change may have been missed: every key is looked up)."""

    def __init__(self, engine: AsyncEngine, *, enabled: bool) -> None:
        self._engine = engine
        self._enabled = enabled
        self.current: KnownKeys | None = None
        self._building: KnownKeys | None = None
        self._max_id = 0
        self._wake = asyncio.Event()  # the poller reads keys at once when set

    def add(self, key: str) -> None:
        """A key that may exist now (called for every change, before it is acknowledged)."""
        for known in (self.current, self._building):
            if known is not None:
                known.add(key)

    def off(self) -> None:
        """Distrust the filter until it is read again (a message may have been missed)."""
        self.current = None

    def restart(self) -> None:
        """Read every key again into a new filter; changes from now on reach it too."""
        if not self._enabled:
            return
        self.current = None
        self._building = KnownKeys()
        self._max_id = 0
        self._wake.set()

    async def poll(self, closing: asyncio.Event) -> None:
        """Fill the filter if it is not yet, and add what was written since, every
        KEYS_POLL_SECONDS, until `closing` is set."""
        while not closing.is_set():
            try:
                await self.read_new_keys()
            except Exception as exc:
                # Every look-up goes the long way until a read succeeds.
                log.warning("could not read new link keys (%s); filter off until it can", exc)
                self.current = None
                if self._building is None:
                    self.restart()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=KEYS_POLL_SECONDS)
            self._wake.clear()

    async def read_new_keys(self) -> None:
        building, current = self._building, self.current
        targets = [f for f in (building, current) if f is not None]
        if not targets:
            return
        after = 0 if building is not None else max(0, self._max_id - KEYS_LOOK_BACK)
        async for rows in keys_after(self._engine, after):
            for target in targets:
                for _, key in rows:
                    target.add(key)
            self._max_id = max(self._max_id, rows[-1][0])
            await asyncio.sleep(0)  # a million keys: let redirects through between chunks
        if building is not None and self._building is building:
            self.current, self._building = building, None
            log.info("known keys: %d in a filter of %d bytes", building.count, building.nbytes)
        elif current is not None and current.full:
            # Past its capacity the false-positive rate climbs: build a bigger one.
            self._building = KnownKeys(max(MIN_CAPACITY, 2 * current.count))
            self._max_id = 0
