"""Word hashes and the presearch's key table, against plain Python.

The presearch is only exact if equal words always hash equally (wherever they stand,
whatever surrounds them) and if the key table finds every key whose hash it is given,
including keys that share a hash or a bucket. These tests check exactly that, with
random words (ASCII, accented, CJK) and hashes crowded into few buckets.
"""

from __future__ import annotations

import random
import string

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.keytable import KeyTable, Postings, ranges
from monitor.rules.wordhash import PREFIX_LEN, PREFIX_SALT, hash_strings, hash_words

SETTINGS = settings(max_examples=200, derandomize=True, deadline=None)
WORD = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz'0123456789ŏé평양東京")),
    min_size=1,
    max_size=24,
)


@SETTINGS
@given(st.lists(WORD, min_size=1, max_size=30), st.integers(1, 4))
def test_a_word_hashes_the_same_wherever_it_stands(words: list[str], gap: int) -> None:
    text = (" " * gap).join(words)
    hashes, _ = hash_words(f"{' ' * gap}{text}{' ' * gap}")
    alone = [int(hash_strings([word])[0]) for word in words]
    assert hashes.tolist() == alone


@SETTINGS
@given(st.lists(WORD.filter(str.isascii), min_size=1, max_size=30))
def test_prefix_hashes_are_the_salted_hashes_of_the_first_characters(words: list[str]) -> None:
    _, prefixes = hash_words(" ".join(words), prefixes=True)
    assert prefixes is not None
    heads = [w[:PREFIX_LEN] for w in words if len(w) >= PREFIX_LEN]
    assert prefixes.tolist() == (hash_strings(heads) ^ PREFIX_SALT).tolist()


def test_word_offsets_and_empty_text() -> None:
    assert hash_words("")[0].size == 0
    assert hash_words("   ", prefixes=True)[1].size == 0  # type: ignore[union-attr]
    assert hash_strings([]).size == 0


def test_different_words_of_up_to_16_bytes_get_different_hashes() -> None:
    rng = random.Random(7)
    words = {
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 16))) for _ in range(50_000)
    }
    words |= {"a", "aa", "a'", "ab", "ba", "abc", "abcdefgh", "abcdefghi", "abcdefgh0"}
    assert len(set(hash_strings(sorted(words)).tolist())) == len(words)
    # Past 16 bytes only the length tells words apart (a collision there is harmless).
    long = ["x" * 17, "x" * 18, "x" * 40]
    assert len(set(hash_strings(long).tolist())) == 3


def test_the_prefix_salt_keeps_a_word_and_a_prefix_apart() -> None:
    word = hash_strings(["abc"])[0]
    _, prefix = hash_words("abcdef", prefixes=True)
    assert prefix is not None and prefix[0] != word and prefix[0] ^ PREFIX_SALT == word


HASHES = st.lists(st.integers(0, 40), min_size=0, max_size=60)


@SETTINGS
@given(HASHES, HASHES)
def test_key_table_finds_every_key_with_a_wanted_hash(keys: list[int], wanted: list[int]) -> None:
    # Small values shifted into the top bits: many keys share a bucket or a whole hash.
    table_hashes = np.array([k << 58 | k % 3 for k in keys], np.uint64)
    table = KeyTable(table_hashes, np.arange(len(keys)))
    asked = np.array([w << 58 | w % 3 for w in wanted], np.uint64)
    found = sorted(set(table.find([asked]).tolist()))
    expected = sorted({n for n, h in enumerate(table_hashes.tolist()) if h in set(asked.tolist())})
    assert found == expected


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 30), max_size=5), max_size=12), st.data())
def test_postings_mark_the_rules_of_the_given_keys(lists: list[list[int]], data) -> None:
    keys = data.draw(st.lists(st.integers(0, max(0, len(lists) - 1)), max_size=6))
    keys = keys if lists else []
    marked = Postings(lists).rules_of(np.array(keys, np.intp), 31)
    assert np.flatnonzero(marked).tolist() == sorted({n for k in keys for n in lists[k]})


def test_ranges_concatenates_aranges() -> None:
    starts, ends = np.array([0, 5, 5, 9]), np.array([3, 5, 7, 10])
    assert ranges(starts, ends).tolist() == [0, 1, 2, 5, 6, 9]
    assert ranges(np.array([], np.intp), np.array([], np.intp)).tolist() == []
