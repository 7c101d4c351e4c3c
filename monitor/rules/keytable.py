"""The presearch index's arrays: a hash table of keys and the rules filed under each.

:class:`KeyTable` finds, for an array of word hashes, the numbers of the keys with
those hashes. Keys are sorted by hash and grouped in buckets addressed by the top bits
of the hash (eight to sixteen buckets per key: most words of an item find an empty
bucket and drop out at the first gather), so a lookup is a few array gathers, whatever
the number of keys. :class:`Postings` holds, for each key number, the rules filed under
it, as one flat array (compressed sparse rows).
"""

from __future__ import annotations

import numpy as np

__all__ = ["KeyTable", "Postings", "ranges"]

_MOST_BITS = 22  # past 4M buckets (32 MB of offsets), fewer buckets per key


class KeyTable:
    """Key hashes grouped in buckets, and the key number behind each hash."""

    def __init__(self, hashes: np.ndarray, numbers: np.ndarray) -> None:
        """A table of the keys whose hashes are ``hashes`` and numbers ``numbers``.

        Keys may share a hash; a lookup then finds all of them.
        """
        least = int(len(hashes)).bit_length() + 1  # ~2 buckets per key
        bits = max(4, min(least + 2, max(least, _MOST_BITS)))
        self.shift = np.uint64(64 - bits)
        order = np.argsort(hashes)
        self.hashes = hashes[order].astype(np.uint64)
        self.numbers = numbers[order].astype(np.intp)
        buckets = (self.hashes >> self.shift).astype(np.intp)
        self.offsets = np.searchsorted(buckets, np.arange((1 << bits) + 1))
        sizes = np.diff(self.offsets)
        self.depth = int(sizes.max()) if len(sizes) else 0  # the fullest bucket's size

    def find(self, hash_arrays: list[np.ndarray]) -> np.ndarray:
        """The numbers of the keys whose hashes are in ``hash_arrays`` (with repeats)."""
        if not hash_arrays or not len(self.hashes):
            return np.empty(0, np.intp)
        wanted = np.concatenate(hash_arrays) if len(hash_arrays) > 1 else hash_arrays[0]
        bucket = (wanted >> self.shift).astype(np.intp)
        at, end = self.offsets[bucket], self.offsets[bucket + 1]
        live = np.flatnonzero(end > at)
        wanted, at, end = wanted[live], at[live], end[live]
        found = []
        for _ in range(self.depth):
            hit = self.hashes[at] == wanted
            found.append(self.numbers[at[hit]])
            at += 1
            more = np.flatnonzero(at < end)
            if not len(more):
                break
            wanted, at, end = wanted[more], at[more], end[more]
        return np.concatenate(found) if found else np.empty(0, np.intp)


class Postings:
    """For each key number, the numbers of the rules filed under it."""

    def __init__(self, lists: list[list[int]]) -> None:
        """Postings from one list of rule numbers per key number."""
        self.offsets = np.zeros(len(lists) + 1, np.intp)
        np.cumsum([len(rules) for rules in lists], out=self.offsets[1:])
        self.rules = np.array([n for rules in lists for n in rules], np.intp)

    def rules_of(self, keys: np.ndarray, size: int) -> np.ndarray:
        """A bool per rule (``size`` rules): filed under one of ``keys``."""
        out = np.zeros(size, np.bool_)
        if len(keys):
            out[self.rules[ranges(self.offsets[keys], self.offsets[keys + 1])]] = True
        return out


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, e)`` for each pair (vectorized)."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.intp)
    shifts = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return shifts + np.arange(total)
