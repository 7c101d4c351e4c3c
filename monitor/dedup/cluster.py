"""Which stories a new item's text points to: near-identical text within the window.

:class:`StoryFinder` wraps the long-lived :class:`FingerprintIndex` with the
fingerprints of the poll in progress, which join the index only once the poll's
transaction committed (so a rolled-back poll leaves no trace).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.dedup.index import FingerprintIndex, NearMatch


class StoryFinder:
    """Near-duplicate lookup over committed and in-progress fingerprints."""

    def __init__(self, index: FingerprintIndex, window: timedelta) -> None:
        self.index = index
        self.window = window
        self._batch = self._new_batch()

    def nearest(self, fp: int | None, now: datetime) -> NearMatch | None:
        """The closest story within the window, or None (or when ``fp`` is None)."""
        found = self.near(fp, now)
        return found[0] if found else None

    def near(self, fp: int | None, now: datetime) -> list[NearMatch]:
        """Every story within the window whose text is near ``fp``, closest first.

        Committed stories come before this poll's at equal distance; none for None.
        """
        if fp is None:
            return []
        since = (now - self.window).timestamp()
        found = self.index.near(fp, since)
        batch = self._batch.near(fp) if len(self._batch) else []
        if not batch:  # each list is closest first, each story once
            return found
        found += batch
        closest: dict[int, NearMatch] = {}
        for match in sorted(found, key=lambda m: m.distance):  # stable: committed first
            closest.setdefault(match.story_id, match)
        return list(closest.values())

    def remember(self, fp: int | None, story_id: int, now: datetime) -> None:
        """Note a fingerprint recorded in the current (uncommitted) poll."""
        if fp is not None:
            self._batch.add(fp, story_id, now.timestamp())

    def commit(self) -> None:
        """The poll committed: its fingerprints join the long-lived index."""
        for fp, story, seen_at in self._batch.entries():
            self.index.add(fp, story, seen_at)
        self._batch = self._new_batch()

    def _new_batch(self) -> FingerprintIndex:
        """An empty index for a poll's fingerprints: a few hundred, kept unsorted."""
        return FingerprintIndex(self.index.max_distance, sorts=False)

    def rollback(self) -> None:
        """The poll failed: forget its fingerprints."""
        self._batch = self._new_batch()
