"""Finding a near-identical fingerprint among many, without scanning them all.

Pigeonhole: split the 64 bits into ``max_distance + 1`` blocks (at least two); two
fingerprints at most ``max_distance`` bits apart agree exactly on at least one block.
Per block, the entries are kept sorted by that block's value (two typed arrays: the
values and the entries' positions), so a lookup finds the entries sharing a block by
binary search and checks only those candidates (about ``n / 2**16`` per block at the
default of 4 blocks) instead of all ``n``.

Compact: an entry costs 24 bytes (fingerprint, story, time) plus 6 bytes per block
(48 bytes at 4 blocks), where a dict of arrays per block value cost ~650 (issue 18).
Adding only appends. Entries added since the last sort form a tail, which a lookup
first indexes in small dicts (as the daemon adds a poll's items between lookups);
the first lookup that finds the tail longer than :func:`tail_limit` (1/32 of the
entries, at least :data:`TAIL`) sorts everything again with numpy, so a sort's
O(n) is paid once per n/32 additions, and the dicts (~650 bytes an entry) never
hold more than 1/32 of the entries. numpy is loaded at the first sort: a process
that adds and prunes but never looks up (``run --once`` on unchanged feeds), or
looks up among at most 32 entries, never loads it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass

from monitor.dedup.fingerprint import hamming, signed64

MASK64 = (1 << 64) - 1
TAIL = 32  # the fewest entries a tail may hold before a lookup sorts them in
TAIL_SHARE = 32  # ... or 1/TAIL_SHARE of all entries, when that is more


def tail_limit(entries: int) -> int:
    """How many entries may wait in the tail (dicts) before a lookup sorts them in."""
    return max(TAIL, entries // TAIL_SHARE)


@dataclass(frozen=True)
class NearMatch:
    """The closest stored fingerprint: its story and how many bits differ."""

    story_id: int
    distance: int


# per block: its lowest bit, value mask, shift to a value's run, the sorted values,
# where each run starts in them, and the entries' positions in the same order
_Block = tuple[int, int, int, "array[int]", "array[int]", "array[int]"]


def _key_typecode(bits: int) -> str:
    """The smallest unsigned array typecode holding ``bits`` bits (at most 32)."""
    return "B" if bits <= 8 else "H" if bits <= 16 else "I"


class FingerprintIndex:
    """Recent fingerprints with their story and time, searchable by Hamming distance.

    Fingerprints are signed or unsigned 64-bit ints (only the low 64 bits count),
    times are seconds (any monotonic scale: the callers use UTC epoch seconds).
    """

    def __init__(self, max_distance: int = 3, *, sorts: bool = True) -> None:
        """``sorts=False`` keeps every entry in the tail's dicts, never sorted: for a
        short-lived index of a few hundred entries (a poll's own items,
        :class:`~monitor.dedup.cluster.StoryFinder`), where a numpy sort each 32 entries
        cost more than the dicts (~0.8 ms a sort: 327 sorts in a first poll of 200 feeds,
        a fifth of its story lookups)."""
        if not 0 <= max_distance <= 15:
            raise ValueError("max_distance must be between 0 and 15 bits")
        self.max_distance = max_distance
        self.sorts = sorts
        blocks = max(max_distance + 1, 2)  # more blocks than needed is still exact
        edges = [round(i * 64 / blocks) for i in range(blocks + 1)]
        self._spans = [(low, high - low) for low, high in zip(edges, edges[1:], strict=False)]
        self._fps: array[int] = array("q")
        self._stories: array[int] = array("q")
        self._times: array[float] = array("d")
        self._clear_sorted()

    def _clear_sorted(self) -> None:
        """Forget the sorted part: every entry is in the tail until the next sort."""
        self._sorted = 0  # entries [0, _sorted) are in the sorted blocks
        self._indexed = 0  # entries [_sorted, _indexed) are in the tail's dicts
        self._tail: list[dict[int, list[int]]] = [{} for _ in self._spans]
        self._blocks: list[_Block] = [
            (
                low,
                (1 << width) - 1,
                width,
                array(_key_typecode(width)),
                array("I", [0, 0]),
                array("I"),
            )
            for low, width in self._spans
        ]

    def __len__(self) -> int:
        return len(self._fps)

    def add(self, fp: int, story_id: int, seen_at: float) -> None:
        """Remember that an item of ``story_id`` had fingerprint ``fp`` at ``seen_at``.

        Raises OverflowError for a fingerprint or story id outside 64 bits."""
        self._fps.append(signed64(fp))
        self._stories.append(story_id)
        self._times.append(seen_at)

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
        count = len(self._fps)
        if self.sorts and count - self._sorted > tail_limit(count):
            self._sort()
        elif self._indexed < count:
            self._index_tail()
        value = fp & MASK64
        candidates: list[int] = []
        for low, mask, shift, keys, starts, positions in self._blocks:
            key = (value >> low) & mask
            bucket = key >> shift
            end = starts[bucket + 1]
            i = bisect_left(keys, key, starts[bucket], end)
            while i < end and keys[i] == key:
                candidates.append(positions[i])
                i += 1
        if self._indexed > self._sorted:
            for (low, mask, *_), tail in zip(self._blocks, self._tail, strict=True):
                candidates += tail.get((value >> low) & mask, ())
        hits: set[tuple[int, int]] = set()  # an entry may share several blocks
        for position in candidates:
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

    def _index_tail(self) -> None:
        """Put the entries added since the last lookup in the tail's dicts."""
        for position in range(self._indexed, len(self._fps)):
            value = self._fps[position] & MASK64
            for (low, mask, *_), tail in zip(self._blocks, self._tail, strict=True):
                tail.setdefault((value >> low) & mask, []).append(position)
        self._indexed = len(self._fps)

    def _sort(self) -> None:
        """Sort every entry into the blocks: per block, positions ordered by the block's
        value (equal values: oldest first), the values in the same order, and where
        each run of values sharing their top bits starts (about 4 entries a run), so
        a binary search covers a run, not the whole block."""
        import numpy as np

        fps = np.frombuffer(self._fps, dtype=np.uint64)
        blocks = []
        for low, mask, _, keys, _, _ in self._blocks:
            width = mask.bit_length()
            prefix_bits = min(width, max(len(fps).bit_length() - 3, 0))
            values = ((fps >> np.uint64(low)) & np.uint64(mask)).astype(np.dtype(keys.typecode))
            order = np.argsort(values, kind="stable")
            values = values[order]
            shift = width - prefix_bits
            counts = np.bincount(values >> shift, minlength=1 << prefix_bits)
            starts = np.concatenate(([0], np.cumsum(counts))).astype(np.uint32)
            blocks.append(
                (
                    low,
                    mask,
                    shift,
                    array(keys.typecode, values.tobytes()),
                    array("I", starts.tobytes()),
                    array("I", order.astype(np.uint32).tobytes()),
                )
            )
        self._blocks = blocks
        self._sorted = self._indexed = len(self._fps)
        self._tail = [{} for _ in self._spans]

    def entries(self) -> list[tuple[int, int, float]]:
        """Every (fingerprint, story, seen at), oldest first."""
        return list(zip(self._fps, self._stories, self._times, strict=True))

    def prune(self, before: float) -> int:
        """Forget entries seen before ``before``; return how many were dropped.

        Without numpy: the kept entries become the tail, sorted in at the next lookup.
        O(n) in Python: the daemon prunes once an hour or so, not per poll.
        """
        keep = [i for i, t in enumerate(self._times) if t >= before]
        dropped = len(self._fps) - len(keep)
        if dropped:
            self._fps = array("q", [self._fps[i] for i in keep])
            self._stories = array("q", [self._stories[i] for i in keep])
            self._times = array("d", [self._times[i] for i in keep])
            self._clear_sorted()
        return dropped
