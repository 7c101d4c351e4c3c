"""64-bit SimHash of an item's text, vectorized with numpy.

Text is split into words on any non-word character (Latin, Cyrillic, Hangul … words;
each Han/kana character is a word of its own, so Chinese and Japanese work without
a segmenter). Every run of three words (a shingle) is hashed to 64 bits; each bit
of the fingerprint is the majority vote of that bit over the shingles.
Near-identical texts get fingerprints a few bits apart (:func:`hamming`).

Everything runs in numpy over code points (ASCII case folded), so a 1,000-word
article costs a fraction of a millisecond (see ``bench/dedup.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING

from monitor.models import Item

if TYPE_CHECKING:
    import numpy as np

SHINGLE = 3
MIN_SHINGLES = 8  # shorter texts (a headline, a one-line teaser) are not fingerprinted
MAX_CHARS = 100_000
BATCH_CHARS = 32_000  # texts hashed together by simhashes: ~1.4 MB at its peak
_LANE_MAX = 0xFFFF  # shingles a 16-bit counter of _votes sums without overflow

# Non-word ranges among non-ASCII code points: Latin-1 punctuation and symbols,
# general punctuation, CJK symbols and punctuation, full-width ASCII punctuation.
_SEPARATOR_RANGES = (
    (0x80, 0xBF),
    (0xD7, 0xD7),
    (0xF7, 0xF7),
    (0x2000, 0x2BFF),
    (0x3000, 0x303F),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF0F),
    (0xFF1A, 0xFF20),
)
_CHAR_WORD_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


@cache
def _numpy() -> SimpleNamespace:
    """numpy and the constant arrays, loaded at the first fingerprint (not at import:
    a process that fingerprints nothing, ``run --once`` on unchanged feeds, never
    loads numpy)."""
    import numpy as np

    u64 = np.uint64
    k = SimpleNamespace(np=np, U64=u64)
    k.K1, k.K2, k.K3 = u64(0x9E3779B97F4A7C15), u64(0xBF58476D1CE4E5B9), u64(0x94D049BB133111EB)
    k.K4, k.K5 = u64(0xD6E8FEB86659FD93), u64(0xA0761D6478BD642F)
    k.S30, k.S27, k.S31 = u64(30), u64(27), u64(31)
    k.CLASS = _class_table(np)
    k.POSITION_WEIGHTS = _mix(np.arange(1, 65, dtype=u64), k) | u64(1)  # odd: 1:1 products
    return k


def _mix(x: np.ndarray, k: SimpleNamespace | None = None) -> np.ndarray:
    """splitmix64's finalizer: spreads every input bit over all 64 output bits."""
    k = k or _numpy()
    x = x ^ (x >> k.S30)
    x = x * k.K2
    x = x ^ (x >> k.S27)
    x = x * k.K3
    return x ^ (x >> k.S31)


def _class_table(np: ModuleType) -> np.ndarray:
    """Per BMP code point: 0 separator, 1 word character, 2 a word by itself (Han, kana)."""
    table = np.ones(0x10000, dtype=np.uint8)
    table[:0x80] = 0
    table[ord("0") : ord("9") + 1] = 1
    table[ord("a") : ord("z") + 1] = 1
    for low, high in _SEPARATOR_RANGES:
        table[low : high + 1] = 0
    for low, high in _CHAR_WORD_RANGES:
        table[low : high + 1] = 2
    return table


def word_hashes(text: str) -> np.ndarray:
    """One 64-bit hash per word of ``text`` (ASCII case folded), in order."""
    text = text[:MAX_CHARS]
    return _word_hashes_of(_numpy(), text, (len(text),))[0]


def _word_hashes_of(
    k: SimpleNamespace, text: str, lengths: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The word hashes of ``text`` and, per word, which part of it the word is in:
    ``lengths`` are the parts' lengths in code points, in order (``(len(text),)``
    for one part)."""
    np = k.np
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    cps = cps | (((cps >= 65) & (cps <= 90)).astype(np.uint32) << 5)  # A-Z → a-z
    classes = np.take(k.CLASS, cps, mode="clip")  # astral code points count as words
    positions = np.flatnonzero(classes)
    if not len(positions):
        return np.empty(0, dtype=k.U64), np.empty(0, dtype=np.intp)
    kinds = classes[positions]
    # a word starts after a gap, at a stand-alone character, or right after one
    starts = np.ones(len(positions), dtype=bool)
    starts[1:] = (np.diff(positions) > 1) | (kinds[1:] == 2) | (kinds[:-1] == 2)
    offsets = np.flatnonzero(starts)
    lengths_of_words = np.diff(offsets, append=len(positions))
    in_token = np.arange(len(positions)) - np.repeat(offsets, lengths_of_words)
    per_char = cps[positions].astype(k.U64) * k.POSITION_WEIGHTS[in_token & 63]
    hashes = _mix(np.add.reduceat(per_char, offsets), k)
    if len(lengths) == 1:
        return hashes, np.zeros(len(hashes), dtype=np.intp)
    ends = np.cumsum(lengths)
    return hashes, np.searchsorted(ends, positions[offsets], side="right")


def _bit_counts(values: np.ndarray) -> np.ndarray:
    """How many of ``values`` have each of the 64 bits set."""
    np = _numpy().np
    bits = np.unpackbits(values.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    lanes = bits.view(np.uint64)  # 8 counters of one byte each per uint64: sum ≤ 255 rows at once
    counts = np.zeros(64, dtype=np.int64)
    for start in range(0, len(lanes), 255):
        counts += lanes[start : start + 255].sum(axis=0, dtype=np.uint64).view(np.uint8)
    return counts


def _shingles(k: SimpleNamespace, words: np.ndarray) -> np.ndarray:
    """One 64-bit hash per run of three consecutive ``words`` (word hashes, in order)."""
    return _mix(words[:-2] * k.K1 + words[1:-1] * k.K4 + words[2:] * k.K5, k)


def signed64(value: int) -> int:
    """An unsigned 64-bit ``value`` as the signed int SQLite stores (same bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def simhash(text: str) -> int | None:
    """The 64-bit SimHash of ``text`` (as a signed int for SQLite), or None if too short.

    Shingles are weighted by how often they occur (no de-duplication).
    """
    words = word_hashes(text)
    if len(words) < SHINGLE + MIN_SHINGLES - 1:
        return None
    k = _numpy()
    np = k.np
    shingles = _shingles(k, words)
    majority = _bit_counts(shingles) * 2 > len(shingles)
    return signed64(int(np.packbits(majority, bitorder="little").view(np.uint64)[0]))


def simhashes(texts: Sequence[str]) -> list[int | None]:
    """:func:`simhash` of each of ``texts``, computed in one numpy pass.

    The same values as ``[simhash(t) for t in texts]`` (a test holds them equal), at
    a fraction of the cost for short texts: the per-text work of :func:`simhash` is
    ~25 numpy calls, mostly call overhead (~50 us for a 1,300-character text). Here
    the texts are joined with a separator, their words hashed together, and a shingle
    kept only where its three words are of one text. Texts are taken in chunks of
    about :data:`BATCH_CHARS` characters (~45 bytes a character at the peak; a text of
    MAX_CHARS alone takes ~4 MB, as one :func:`simhash` does).
    """
    out: list[int | None] = []
    chunk: list[str] = []
    size = 0
    for text in texts:
        text = text[:MAX_CHARS]
        if chunk and size + len(text) > BATCH_CHARS:
            out.extend(_simhash_chunk(chunk))
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        out.extend(_simhash_chunk(chunk))
    return out


def _simhash_chunk(texts: list[str]) -> list[int | None]:
    """:func:`simhashes` of texts already cut to MAX_CHARS, in one pass."""
    k = _numpy()
    np = k.np
    # "\0" is a separator (class 0): no word runs from one text into the next
    words, word_text = _word_hashes_of(k, "\0".join(texts), [len(t) + 1 for t in texts])
    counts = np.bincount(word_text, minlength=len(texts))
    enough = counts >= SHINGLE + MIN_SHINGLES - 1
    out: list[int | None] = [None] * len(texts)
    if not enough.any():
        return out
    # shingle i is words i..i+2: kept when all three are of one text that has enough
    same = word_text[:-2] == word_text[2:]
    keep = np.flatnonzero(same & enough[word_text[:-2]])
    shingles = _shingles(k, words)[keep]
    owners = np.flatnonzero(enough)
    sizes = counts[owners] - (SHINGLE - 1)  # shingles per text, in text order
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    majority = _votes(k, shingles, starts, sizes) * 2 > sizes[:, None]
    values = np.packbits(majority, axis=1, bitorder="little").view(np.uint64)[:, 0]
    for owner, value in zip(owners.tolist(), values.tolist(), strict=True):
        out[owner] = signed64(value)
    return out


def _votes(
    k: SimpleNamespace, shingles: np.ndarray, starts: np.ndarray, sizes: np.ndarray
) -> np.ndarray:
    """Per text (its shingles at ``starts``, ``sizes`` of them), how many have each of
    the 64 bits set: an array of (texts, 64).

    Each bit becomes a 16-bit counter, four to a uint64, summed per run of at most
    65,535 shingles (no carry between counters), then the runs of a text added up: a
    quarter of the time of summing the bits as (shingles, 64) integers.
    """
    np = k.np
    bits = np.unpackbits(shingles.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    lanes = bits.astype(np.uint16).view(np.uint64)  # (shingles, 16)
    if sizes.max() <= _LANE_MAX:
        return np.add.reduceat(lanes, starts, axis=0).view(np.uint16).astype(np.int64)
    pieces = -(-sizes // _LANE_MAX)  # runs per text
    firsts = np.cumsum(pieces) - pieces
    owner = np.repeat(np.arange(len(sizes)), pieces)
    run_starts = starts[owner] + (np.arange(len(owner)) - firsts[owner]) * _LANE_MAX
    runs = np.add.reduceat(lanes, run_starts, axis=0).view(np.uint16)
    return np.add.reduceat(runs, firsts, axis=0, dtype=np.int64)


def fingerprints(items: Sequence[Item]) -> list[int | None]:
    """:func:`fingerprint` of each of ``items`` in one numpy pass (:func:`simhashes`)."""
    return simhashes([item.content or item.summary for item in items])


def fingerprint(item: Item) -> int | None:
    """The SimHash of an item's body (content, else summary): titles are left out,
    because outlets re-title the same wire copy."""
    return simhash(item.content or item.summary)


def hamming(a: int, b: int) -> int:
    """How many bits differ between two fingerprints."""
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()
