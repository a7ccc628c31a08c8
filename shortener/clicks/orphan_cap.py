"""The per-worker cap on visits to unknown links: the cheapest place to stop a scanner.

A scanner sends thousands of requests a second for paths no link has. Each is answered from
the key filter without a look-up; what must not follow is a visitor hash, a GeoIP look-up, a
queue entry and a database row for every one. The pump asks this cap before it makes a record:
past ORPHAN_VISITS_PER_MINUTE for the domain in this minute, the visit is only counted here,
and the counts leave as one tally record per domain and minute, at most once a second. The
writer applies the same cap across workers (clicks/orphans.py), so N workers keep no more than
the setting either.
"""

from __future__ import annotations

from collections import Counter

from shortener.clicks.events import OrphanRecord

TALLY_SECONDS = 1.0  # how often counted-only visits are handed on as tally records
# Host headers are the visitor's to choose: bound how many domains one minute may track.
MAX_DOMAINS = 10_000


class OrphanCap:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._minute = -1
        self._taken: Counter[str] = Counter()  # this minute's admitted visits, per domain
        self._dropped: Counter[tuple[str, int]] = Counter()  # (domain, minute) -> visits
        self._tallied_at = 0.0

    def admit(self, domain: str, ts: float) -> bool:
        """Whether this visit may become a raw row; when not, it is counted as dropped."""
        minute = int(ts // 60)
        if minute != self._minute:
            self._minute = minute
            self._taken.clear()
        taken = self._taken
        if taken[domain] < self.per_minute and (domain in taken or len(taken) < MAX_DOMAINS):
            taken[domain] += 1
            return True
        self._dropped[(domain, minute)] += 1
        return False

    @property
    def pending(self) -> bool:
        return bool(self._dropped)

    def tallies(self, now: float, *, all_due: bool = False) -> list[OrphanRecord]:
        """The dropped counts as tally records, once TALLY_SECONDS have passed (or all_due)."""
        if not self._dropped or (not all_due and now - self._tallied_at < TALLY_SECONDS):
            return []
        self._tallied_at = now
        dropped, self._dropped = self._dropped, Counter()
        return [
            OrphanRecord(link_id=0, ts=minute * 60.0, domain=domain, dropped=n)
            for (domain, minute), n in dropped.items()
        ]
