"""SimHash fingerprints and the near-duplicate index."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.dedup import (
    FingerprintIndex,
    StoryFinder,
    canonical_url,
    content_hash,
    fingerprint,
    hamming,
    item_key,
)
from monitor.dedup.fingerprint import simhash, word_hashes
from monitor.models import FeedRef, Item
from tests.conftest import SEED

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def feed_body(name: str) -> str:
    text = (SEED / name).read_text()
    return re.sub(
        r"<[^>]+>", " ", text.split("<content:encoded>")[1].split("</content:encoded>")[0]
    )


def random_text(rng: random.Random, words: int = 300) -> str:
    return " ".join(f"w{rng.randrange(50_000)}" for _ in range(words))


def test_syndicated_copy_is_near_identical_and_other_stories_are_far():
    full, wire = simhash(feed_body("feed-full.xml")), simhash(feed_body("feed-syndicated.xml"))
    assert hamming(full, wire) <= 3
    rng = random.Random(7)
    others = [simhash(random_text(rng)) for _ in range(50)]
    assert min(hamming(full, o) for o in others) > 12


def test_words_split_on_punctuation_case_and_cjk():
    assert len(word_hashes("Hello, WORLD-wide 'news'!")) == 4
    assert (word_hashes("HELLO world") == word_hashes("hello WORLD")).all()
    assert len(word_hashes("平壌で 북한은")) == 4  # han/kana one by one, hangul by word
    assert len(word_hashes("")) == 0 and simhash("too short") is None


def test_korean_and_japanese_near_duplicates():
    ko = (
        "북한은 평양에서 열린 회의에서 종전선언 문제를 논의했다고 조선중앙통신이 보도했다 " * 4
        + "폼페이오 국무장관의 네 번째 방북 가능성도 거론됐다 "
        + "남북은 9월 평양에서 정상회담을 열기로 했다"
    )
    ja = "北朝鮮は平壌で開かれた会議で終戦宣言の問題を議論したと朝鮮中央通信が報じた。" * 3
    assert hamming(simhash(ko), simhash(ko + " 연합뉴스")) <= 3
    assert hamming(simhash(ja), simhash(ja + "共同")) <= 3
    assert hamming(simhash(ko), simhash(ja)) > 12


def test_fingerprint_uses_the_body_not_the_title():
    body = feed_body("feed-full.xml")
    a = Item(FeedRef("a", "u"), "1", "Title one", content=body)
    b = Item(FeedRef("b", "v"), "2", "A different headline", content=body)
    assert fingerprint(a) == fingerprint(b) is not None


def test_item_key_and_content_hash():
    feed = FeedRef("f", "u")
    with_guid = Item(feed, "g", "t", link="https://a/1?utm_source=z", guid="g")
    assert item_key(with_guid) == "g"
    # A guid repeated in its document identifies nothing: the id normalization gave
    # instead (the link, canonical; else a hash of the text) is the key.
    shared = Item(
        feed, "https://a/2?utm_source=z", "t", link="https://a/2?utm_source=z", guid="N/A"
    )
    assert item_key(shared) == canonical_url("https://a/2")
    hashed = Item(feed, "sha256:ab", "t", link="https://a/generic", guid="N/A")
    assert item_key(hashed) == "sha256:ab"
    no_guid = Item(feed, "x", "t", link="https://A/1?utm_source=z")
    assert item_key(no_guid) == item_key(Item(feed, "y", "t2", link="https://a/1"))
    dated = Item(feed, "x", "t", summary="s", published=NOW)
    assert content_hash(dated) == content_hash(Item(feed, "x", "t", summary="s"))
    assert content_hash(dated) != content_hash(Item(feed, "x", "t (updated)", summary="s"))


@pytest.mark.parametrize("max_distance", [0, 3, 6])
def test_index_finds_exactly_what_brute_force_finds(max_distance):
    rng = random.Random(max_distance)
    index = FingerprintIndex(max_distance)
    stored = [rng.getrandbits(64) - (1 << 63) for _ in range(3000)]
    for n, fp in enumerate(stored):
        index.add(fp, n, float(n))
    for _ in range(300):
        base = rng.choice(stored)
        probe = base ^ sum(1 << rng.randrange(64) for _ in range(rng.randrange(8)))
        want = [(hamming(probe, fp), n) for n, fp in enumerate(stored)]
        within = sorted(w for w in want if w[0] <= max_distance)
        got = index.nearest(probe)
        assert (got.distance, got.story_id) == within[0] if within else got is None


def test_index_window_and_prune():
    index = FingerprintIndex(3)
    index.add(42, 1, 100.0)
    index.add(43, 2, 200.0)
    assert index.nearest(42, since=150.0).story_id == 2
    assert index.prune(before=150.0) == 1 and len(index) == 1
    assert index.nearest(42).story_id == 2


def test_story_finder_commits_only_after_the_poll():
    finder = StoryFinder(FingerprintIndex(3), timedelta(days=3))
    finder.remember(99, 7, NOW)
    assert finder.nearest(99, NOW).story_id == 7  # visible within the poll
    finder.rollback()
    assert finder.nearest(99, NOW) is None
    finder.remember(99, 7, NOW)
    finder.commit()
    assert finder.nearest(99, NOW + timedelta(days=2)).story_id == 7
    assert finder.nearest(99, NOW + timedelta(days=4)) is None  # outside the window
