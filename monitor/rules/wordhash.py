"""64-bit hashes of every word of a text, computed with numpy (no object per word).

The presearch (:mod:`monitor.rules.presearch`) needs to know which of the rule set's
keys occur in an item. Splitting a 1,000-word article into Python strings and a set
costs ~200 µs in CPython, more than the whole matching budget; hashing its words as
arrays costs a few tens of µs.

A word is a maximal run of bytes other than a space in the UTF-8 text. Its hash mixes
its byte length and its first 16 bytes, read as two little-endian 64-bit integers
straight from the buffer (a word's bytes past its length are masked off). Equal words
always get equal hashes, so a lookup never misses a key; different words may share a
hash (always when they share their first 16 bytes and length, rarely otherwise), which
can only add a candidate rule, never drop one: candidates are evaluated exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from monitor.rules.text import PREFIX_LEN

__all__ = ["PREFIX_LEN", "PREFIX_SALT", "hash_strings", "hash_words", "word_starts"]

PREFIX_SALT = np.uint64(0x5BD1E9955BD1E995)
_PAD = b" " * 16
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], np.uint64)
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xC2B2AE3D27D4EB4F)
_K3 = np.uint64(0x165667B19E3779F9)
_SHIFT = np.uint64(29)
_THREE = np.full(1, PREFIX_LEN, np.uint64)


def _mix(low: np.ndarray, high: np.ndarray | None, length: np.ndarray) -> np.ndarray:
    """One uint64 per word from its first 8 bytes, next 8 bytes and length."""
    h = low * _K1 + length.astype(np.uint64) * _K3
    if high is not None:
        h += high * _K2
    return h ^ (h >> _SHIFT)


def word_starts(text: str) -> np.ndarray:
    """The offset of each space-separated word of the ASCII ``text``."""
    is_word = np.frombuffer(f" {text} ".encode(), np.uint8) != 32
    return np.flatnonzero(is_word[1:] > is_word[:-1])


def hash_words(text: str, prefixes: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Hashes of the space-separated words of ``text`` (and of their byte prefixes).

    The hash of a prefix is that of the prefix as a word, xor :data:`PREFIX_SALT`, so
    that the key ``abc*`` is not found by the word ``abc`` or the other way round.

    Array operations on uint64 wrap around silently, which the hash relies on.
    """
    data = b" " + text.encode() + _PAD
    codes = np.frombuffer(data, np.uint8)
    is_word = codes != 32
    edges = np.flatnonzero(is_word[1:] != is_word[:-1])
    starts, length = edges[0::2] + 1, edges[1::2] - edges[0::2]
    windows = np.ndarray((len(data) - 7,), "<u8", data, 0, (1,))
    low = windows[starts] & _MASKS[np.minimum(length, 8)]
    words = _mix(low, None, length)
    long = np.flatnonzero(length > 8)
    if len(long):
        high = windows[starts[long] + 8] & _MASKS[np.minimum(length[long] - 8, 8)]
        words[long] = _mix(low[long], high, length[long])
    if not prefixes:
        return words, None
    heads = low[length >= PREFIX_LEN] & _MASKS[PREFIX_LEN]
    return words, _mix(heads, None, _THREE) ^ PREFIX_SALT


def hash_strings(strings: Iterable[str]) -> np.ndarray:
    """The hash of each string (none may contain a space), as :func:`hash_words` gives it."""
    text = " ".join(strings)
    return hash_words(text)[0] if text else np.empty(0, np.uint64)
