"""A slice's fingerprints in one numpy pass: the same values as one by one."""

from __future__ import annotations

import random

from monitor.dedup.fingerprint import MAX_CHARS, fingerprints, simhash, simhashes
from monitor.matching import prepare, prepare_slice
from monitor.models import FeedRef, Item
from monitor.rules.index import RuleSet

# separators, ASCII words in both cases, Latin-1, Hangul, Han and kana (a word each),
# an astral code point (a word character), NUL (the separator the batch joins with)
ALPHABET = "abcxyz ABC,.-'é\u2014북한은平壌で\U0001f600\x00\t\n"


def texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    lengths = (0, 1, 5, 9, 17, 19, 21, 25, 40, 200, 1_300, 6_000)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.choice(lengths))) for _ in range(count)]


def test_batch_equals_one_by_one_on_many_texts():
    many = texts(11, 3_000)
    # at the bound of MIN_SHINGLES (10 words) and around it
    many += ["w " * n for n in range(0, 14)] + [
        " ".join(f"w{n}" for n in range(k)) for k in (9, 10)
    ]
    expected = [simhash(t) for t in many]
    assert simhashes(many) == expected
    assert simhashes(many[::-1]) == expected[::-1]
    assert sum(v is not None for v in expected) > 500  # most long texts have one
    assert simhashes([]) == []


def test_batch_equals_one_by_one_past_the_counters_and_the_character_cap():
    rng = random.Random(5)
    han = "".join(rng.choice("平壌北朝鮮会議終戦宣言") for _ in range(MAX_CHARS + 500))
    long = [
        han,  # ~100,000 one-character words: past a 16-bit counter's 65,535 shingles
        han[:65_538],
        han[:65_537],
        "ab " * 40_000,  # cut at MAX_CHARS
        "short text",
        " ".join(f"w{rng.randrange(500)}" for _ in range(30_000)),
    ]
    assert simhashes(long) == [simhash(t) for t in long]
    assert simhashes(long * 3) == [simhash(t) for t in long] * 3  # several chunks


def item(n: int, body: str) -> Item:
    feed = FeedRef("f", "http://127.0.0.1:1/f.xml")
    return Item(feed, f"g{n}", f"Talks {n}", f"http://news.example/{n}", None, body, "", None)


def test_items_content_else_summary():
    bodies = texts(3, 60)
    items = [item(n, body) for n, body in enumerate(bodies)]
    items.append(Item(items[0].feed, "c", "t", "", None, "", " ".join(["content"] * 20), None))
    assert fingerprints(items) == [simhash(i.content or i.summary) for i in items]


def test_a_slice_fingerprints_its_new_items_as_prepare_does():
    rules = RuleSet([("talks", "Pompeo AND talks")])
    bodies = texts(4, 40) + ["Pompeo talks " * 30]
    items = [item(n, body) for n, body in enumerate(bodies)]
    # new and baseline, known and edited (no fingerprint), known and unchanged
    todo = [(f"k{n}", it, None, n % 3 != 1, n % 2 == 0) for n, it in enumerate(items)]
    done = prepare_slice(rules, {"talks"}, todo, 0, 3_600.0)
    assert done == [prepare(rules, {"talks"}, *row[1:]) for row in todo]
    assert sum(p.fingerprint is not None for p in done) > 5
    assert prepare_slice(rules, {"talks"}, todo, 7, 3_600.0) == done[7:]
