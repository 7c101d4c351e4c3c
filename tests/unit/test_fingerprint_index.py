"""The near-duplicate index: the Hamming bound, expiry, and what an entry costs."""

from __future__ import annotations

import random
import tracemalloc

import numpy  # noqa: F401 - imported before tracemalloc starts: its import is not the index's
import pytest

from monitor.dedup import FingerprintIndex, hamming
from monitor.dedup.index import TAIL, NearMatch


def _flip(fp: int, bits: list[int]) -> int:
    """``fp`` with ``bits`` flipped, kept a signed 64-bit int as SimHash gives it."""
    value = (fp ^ sum(1 << b for b in bits)) & ((1 << 64) - 1)
    return value - (1 << 64) if value >= 1 << 63 else value


def _spread(count: int, rng: random.Random) -> list[int]:
    """``count`` distinct bit numbers spread over the whole 64 bits (every block hit
    once before any twice), the layout that leaves the fewest blocks agreeing."""
    order = [b * 4 + lane for lane in range(4) for b in range(16)]
    start = rng.randrange(64)
    return [order[(start + i) % 64] for i in range(count)]


@pytest.mark.parametrize("max_distance", [0, 1, 3, 7, 15])
@pytest.mark.parametrize("stored", [TAIL // 2, 5000])  # scanned tail only / sorted blocks
@pytest.mark.parametrize("sorts", [True, False])  # False: the tail's dicts only (a poll's batch)
def test_found_at_the_bound_and_not_one_bit_past_it(max_distance, stored, sorts):
    rng = random.Random(max_distance * 7919 + stored)
    index = FingerprintIndex(max_distance, sorts=sorts)
    fps = [rng.getrandbits(64) - (1 << 63) for _ in range(stored)]
    for n, fp in enumerate(fps):
        index.add(fp, n, float(n))
    for _ in range(40):
        n = rng.randrange(stored)
        at_bound = _flip(fps[n], _spread(max_distance, rng))
        past = _flip(fps[n], _spread(max_distance + 1, rng))
        assert hamming(at_bound, fps[n]) == max_distance
        found = {m.story_id: m.distance for m in index.near(at_bound)}
        assert found.get(n) == max_distance
        want_past = {m for m, fp in enumerate(fps) if hamming(past, fp) <= max_distance}
        assert {m.story_id for m in index.near(past)} == want_past
        assert n not in want_past


@pytest.mark.parametrize("sorts", [True, False])
def test_lookups_between_additions_find_what_brute_force_finds(sorts):
    """The daemon's pattern: a poll's items are looked up, then added, poll after poll,
    so lookups see entries sorted, in the tail's dicts, and not yet indexed."""
    rng = random.Random(17)
    index = FingerprintIndex(3, sorts=sorts)
    stored: list[int] = []
    for n in range(1500):
        if stored:
            probe = _flip(rng.choice(stored), rng.sample(range(64), rng.randrange(6)))
            want = {m: hamming(probe, fp) for m, fp in enumerate(stored)}
            want = {m: d for m, d in want.items() if d <= 3}
            assert {m.story_id: m.distance for m in index.near(probe)} == want
        for _ in range(rng.randrange(1, 4)):  # a poll adds a few before the next lookup
            fp = rng.getrandbits(64) - (1 << 63)
            index.add(fp, len(stored), float(n))
            stored.append(fp)


def test_an_unsigned_fingerprint_is_the_same_as_its_signed_form():
    index = FingerprintIndex(3)
    index.add((1 << 64) - 5, 1, 0.0)  # SimHash as an unsigned 64-bit value
    assert index.nearest(-5).distance == 0
    assert index.nearest(_flip(-5, [0, 63])).distance == 2


def test_expired_entries_are_never_found_and_pruning_keeps_the_rest_findable():
    rng = random.Random(18)
    index = FingerprintIndex(3)
    fps = [rng.getrandbits(64) - (1 << 63) for _ in range(2000)]
    for n, fp in enumerate(fps):
        index.add(fp, n, float(n))
    assert index.nearest(fps[10]).story_id == 10  # sorted in
    assert index.nearest(fps[10], since=11.0) is None  # too old for the window
    assert index.prune(before=1000.0) == 1000 and len(index) == 1000
    assert index.nearest(fps[10]) is None and index.nearest(_flip(fps[999], [5])) is None
    for n in (1000, 1500, 1999):
        assert index.nearest(fps[n]) == NearMatch(n, 0)
        assert index.nearest(_flip(fps[n], [1, 33, 60])) == NearMatch(n, 3)
    assert [e[1] for e in index.entries()] == list(range(1000, 2000))  # oldest first
    index.add(fps[0], 5000, 5000.0)  # a story that comes back after its entry expired
    assert index.nearest(fps[0]).story_id == 5000
    assert index.prune(before=10_000.0) == 1001 and index.nearest(fps[0]) is None
    assert index.prune(before=10_000.0) == 0 and index.entries() == []


def test_ties_go_to_the_earliest_entry_in_the_tail_and_in_the_blocks():
    index = FingerprintIndex(3)
    for story in (1, 2):
        index.add(42, story, 0.0)
    assert [m.story_id for m in index.near(42)] == [1, 2]  # tail
    for n in range(TAIL * 3):
        index.add(1 << 40 | n, 100 + n, 1.0)
    index.add(42, 3, 2.0)
    assert [m.story_id for m in index.near(42)][:3] == [1, 2, 3]  # sorted, then tail


def test_an_entry_costs_under_100_bytes():
    rng = random.Random(650)
    fps = [rng.getrandbits(64) - (1 << 63) for _ in range(20_000)]
    tracemalloc.start()
    try:
        index = FingerprintIndex(3)
        for n, fp in enumerate(fps):
            index.add(fp, n, 1.7e9 + n)
        index.nearest(fps[0])  # sorted into the blocks
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(index) == len(fps)
    assert held / len(fps) < 100  # a dict of arrays per block value: ~650
