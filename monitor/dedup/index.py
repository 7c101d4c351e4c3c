"""Finding a near-identical fingerprint among many, without scanning them all.

Pigeonhole: split the 64 bits into ``max_distance + 1`` blocks; two fingerprints at
most ``max_distance`` bits apart agree exactly on at least one block. Each block
value maps to the entries having it, so a lookup checks only those candidates
(about ``n / 2**16`` per block at the default of 4 blocks) instead of all ``n``.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from monitor.dedup.fingerprint import hamming

MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class NearMatch:
    """The closest stored fingerprint: its story and how many bits differ."""

    story_id: int
    distance: int


class FingerprintIndex:
    """Recent fingerprints with their story and time, searchable by Hamming distance."""

    def __init__(self, max_distance: int = 3) -> None:
        if not 0 <= max_distance <= 15:
            raise ValueError("max_distance must be between 0 and 15 bits")
        self.max_distance = max_distance
        blocks = max_distance + 1
        edges = [round(i * 64 / blocks) for i in range(blocks + 1)]
        self._spans = [
            (low, (1 << (high - low)) - 1) for low, high in zip(edges, edges[1:], strict=False)
        ]
        # compact typed arrays: ~20 bytes per entry per block instead of ~100 for lists
        self._buckets: list[dict[int, array[int]]] = [{} for _ in self._spans]
        self._fps: array[int] = array("q")
        self._stories: array[int] = array("q")
        self._times: array[float] = array("d")

    def __len__(self) -> int:
        return len(self._fps)

    def _keys(self, fp: int) -> list[int]:
        value = fp & MASK64
        return [(value >> low) & mask for low, mask in self._spans]

    def add(self, fp: int, story_id: int, seen_at: float) -> None:
        """Remember that an item of ``story_id`` had fingerprint ``fp`` at ``seen_at``."""
        position = len(self._fps)
        self._fps.append(fp)
        self._stories.append(story_id)
        self._times.append(seen_at)
        for bucket, key in zip(self._buckets, self._keys(fp), strict=True):
            slot = bucket.get(key)
            if slot is None:
                bucket[key] = slot = array("I")
            slot.append(position)

    def nearest(self, fp: int, since: float = float("-inf")) -> NearMatch | None:
        """The closest entry seen at or after ``since`` within ``max_distance``, if any.

        Ties go to the earliest entry, so a story keeps the item that started it.
        """
        found = self.near(fp, since)
        return found[0] if found else None

    def near(self, fp: int, since: float = float("-inf")) -> list[NearMatch]:
        """Every story with an entry seen at or after ``since`` within ``max_distance``.

        Closest first (ties: earliest entry first), each story once at its closest.
        """
        hits: set[tuple[int, int]] = set()
        for bucket, key in zip(self._buckets, self._keys(fp), strict=True):
            for position in bucket.get(key, ()):
                if self._times[position] < since:
                    continue
                distance = hamming(fp, self._fps[position])
                if distance <= self.max_distance:
                    hits.add((distance, position))
        stories: dict[int, NearMatch] = {}
        for distance, position in sorted(hits):
            story = self._stories[position]
            stories.setdefault(story, NearMatch(story, distance))
        return list(stories.values())

    def entries(self) -> list[tuple[int, int, float]]:
        """Every (fingerprint, story, seen at), oldest first."""
        return list(zip(self._fps, self._stories, self._times, strict=True))

    def prune(self, before: float) -> int:
        """Forget entries seen before ``before``; return how many were dropped."""
        keep = [i for i, t in enumerate(self._times) if t >= before]
        dropped = len(self._fps) - len(keep)
        if dropped:
            entries = [(self._fps[i], self._stories[i], self._times[i]) for i in keep]
            self.__init__(self.max_distance)  # type: ignore[misc]
            for fp, story, seen_at in entries:
                self.add(fp, story, seen_at)
        return dropped
