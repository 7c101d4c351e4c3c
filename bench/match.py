"""Matching cost at scale: the presearch index against evaluating every rule.

Generates rules shaped like real ones (2-6 terms; AND, OR groups, phrases, some NOTs,
some prefix wildcards, some NEAR/n) and news-sized items (a title and 200-2,000 words)
from one Zipf vocabulary, then times per item, in the same run:

- ours: ``RuleSet.match`` (presearch, then evaluate the candidates), over every item;
- every rule: ``RuleSet.match_every`` (no presearch), over a sample of the items at
  large rule counts (the sample size is in the output); both give the same matches,
  which is checked on the sample.

Two rule profiles (``--profile``):

- ``realistic`` (default): rule terms are drawn Zipf-weighted from vocabulary ranks
  2,000-50,000 (names, places, topics: not the 2,000 commonest words), and every rule
  needs at least two ANDed parts (a rule is never a lone ``(a OR b)``). Real desks
  write rules that match a small fraction of the news; with this profile an item
  matches ~1 of 10,000 rules (0-6; ~40% of items match none), the output's
  ``matches_per_item``.
- ``dense``: the first version of this benchmark (ranks 1,000-50,000, lone OR groups
  allowed): ~29 of 10,000 rules match each item, so the time is mostly spent building
  highlights for matches. Kept so the slow case stays visible.

"Per item" includes everything ``match`` does for an item: building the Document
(analyzing title and content), the presearch lookup, and evaluating candidates with
highlights. ``presearch_us_per_item_on_that_sample`` is the part before evaluation:
analyzing the fields, hashing their words, finding the candidates.

``floors`` times, on the same items and without any rule, the least any matcher must do
to an item: have its words. ``python_word_set_us_per_item`` is the cheapest way in
Python (split the lowercased text, make a set of strings; the lowercasing is not
timed); ``numpy_word_hashes_us_per_item`` is the
array hashing our presearch does instead. Per-item targets below these floors cannot
be met by Python code on this machine, whatever the index.

    python bench/match.py [--quick | --tiny] [--json] [--profile realistic|dense]
                          [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import resource
import string
import sys
import time
from dataclasses import dataclass
from typing import Any

from monitor.rules.ascii import spaced
from monitor.rules.index import RuleSet
from monitor.rules.query import Document
from monitor.rules.wordhash import hash_words

VOCABULARY = 50_000


@dataclass(frozen=True)
class Profile:
    """How rules are drawn: which vocabulary ranks, whether two ANDed parts are required."""

    name: str
    skip: int  # rule terms come from ranks skip..VOCABULARY, Zipf-weighted
    two_parts: bool  # never a rule that is a lone (a OR b) group


PROFILES = {
    # Real monitoring: an item matches a tiny fraction of the rules (0-3 of 10,000).
    "realistic": Profile("realistic", skip=2_000, two_parts=True),
    # The first benchmark's rules: ~29 of 10,000 rules match each item.
    "dense": Profile("dense", skip=1_000, two_parts=False),
}


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Distinct pseudo-words and the cumulative Zipf (s=1) weights of their ranks."""
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))
        if word not in ("and", "not", "near", "onear"):
            words[word] = None
    return list(words), list(itertools.accumulate(1 / r for r in range(1, VOCABULARY + 1)))


def make_items(rng: random.Random, words: list[str], cum: list[float], n: int) -> list[dict]:
    """``n`` items: a 6-14 word title and 200-2,000 words of content in sentences."""
    items = []
    for _ in range(n):
        title = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(6, 14))).title()
        body = rng.choices(words, cum_weights=cum, k=rng.randint(200, 2000))
        sentences, i = [], 0
        while i < len(body):
            k = rng.randint(8, 25)
            sentences.append(" ".join(body[i : i + k]).capitalize() + ".")
            i += k
        items.append({"title": title, "summary": "", "content": " ".join(sentences)})
    return items


def make_rule(rng: random.Random, words: list[str], cum: list[float], profile: Profile) -> str:
    """One rule: 2-6 terms in AND/OR groups, maybe a phrase, a NOT, a wildcard, a NEAR."""
    total = cum[-1]
    lo = cum[profile.skip - 1]
    terms = []
    for _ in range(rng.randint(2, 6)):
        rank = bisect.bisect_left(cum, lo + rng.random() * (total - lo))
        terms.append(words[min(rank, len(words) - 1)])
    negated = terms.pop() if len(terms) > 2 and rng.random() < 0.2 else None
    if rng.random() < 0.15:
        i = rng.randrange(len(terms))
        terms[i] = terms[i][: max(3, len(terms[i]) - 3)] + "*"
    parts: list[str] = []
    while terms:
        shape = rng.random()
        if shape < 0.15 and len(terms) >= 2 and "*" not in terms[0] + terms[1]:
            parts.append(f'"{terms.pop(0)} {terms.pop(0)}"')
        elif (
            shape < 0.35 and len(terms) >= 2 and (not profile.two_parts or parts or len(terms) > 2)
        ):
            parts.append(f"({terms.pop(0)} OR {terms.pop(0)})")
        elif shape < 0.42 and len(terms) >= 2 and "*" not in terms[0] + terms[1]:
            parts.append(f"{terms.pop(0)} NEAR/5 {terms.pop(0)}")
        else:
            parts.append(terms.pop(0))
    query = " AND ".join(parts)
    return f"{query} AND NOT {negated}" if negated else query


def per_item_us(fn: Any, items: list[dict], keep: int | None = None) -> tuple[float, list]:
    """Mean µs per item of ``fn(item)`` over ``items``, and the first ``keep`` results.

    Results past ``keep`` are only counted (``len``), so that holding every match of
    every item does not inflate the peak memory measured for the rules.
    """
    keep = len(items) if keep is None else keep
    results: list = []
    start = time.perf_counter()
    for n, item in enumerate(items):
        found = fn(item)
        results.append(found if n < keep else len(found))
    return (time.perf_counter() - start) / len(items) * 1e6, results


def run_size(
    n_rules: int, items: list[dict], rng: random.Random, words, cum, profile: Profile
) -> dict:
    """Compile ``n_rules`` rules and time both matchers."""
    specs = [(f"r{i}", make_rule(rng, words, cum, profile)) for i in range(n_rules)]
    start = time.perf_counter()
    rules = RuleSet(specs)
    compile_s = time.perf_counter() - start
    sample = items[: min(len(items), max(10, 2_000_000 // n_rules))]
    ours_us, found = per_item_us(rules.match, items, keep=len(sample))
    every_us, expected = per_item_us(rules.match_every, sample)
    if found[: len(sample)] != expected:
        raise SystemExit(f"{n_rules} rules: presearch and every-rule results differ")
    ours_sample_us = per_item_us(rules.match, sample)[0]
    presearch_us, found_candidates = per_item_us(
        lambda item: rules.candidates(Document.from_fields(item)), sample
    )
    candidates = sum(len(c) for c in found_candidates)
    return {
        "rules": n_rules,
        "compile_s": round(compile_s, 3),
        "ours_us_per_item": round(ours_us, 1),
        "every_rule_us_per_item": round(every_us, 1),
        "every_rule_items_sampled": len(sample),
        "ours_us_per_item_on_that_sample": round(ours_sample_us, 1),
        "ratio_every_over_ours": round(every_us / ours_sample_us, 1),
        "presearch_us_per_item_on_that_sample": round(presearch_us, 1),
        "candidates_per_item": round(candidates / len(sample), 2),
        "matches_per_item": round(
            sum(m if isinstance(m, int) else len(m) for m in found) / len(items), 3
        ),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def floors(items: list[dict]) -> dict:
    """What the least a matcher does to an item costs here, on the same items.

    Whatever the rules, a matcher must look at every word of the item. In Python, the
    cheapest way to have an item's words is to split its text into a set of strings;
    our presearch instead hashes the words as numpy arrays. Both are timed alone on the
    item's title and content already lowercased with punctuation mapped (not timed:
    ~35 µs more), without any rule, to show the floor under "ours".
    """
    texts = [spaced(f"{item['title']} {item['content']}") or "" for item in items[:2000]]
    return {
        "python_word_set_us_per_item": round(
            per_item_us(lambda text: set(text.split()), texts, keep=0)[0], 1
        ),
        "numpy_word_hashes_us_per_item": round(
            per_item_us(lambda text: hash_words(text, True)[0], texts, keep=0)[0], 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k rules, 300 items")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: 200 rules, 20 items")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="realistic")
    parser.add_argument("--sizes", help="comma-separated rule counts (default 1k,10k,100k)")
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    sizes, n_items = [1_000, 10_000, 100_000], 10_000
    if args.quick:
        sizes, n_items = [1_000, 10_000], 300
    if args.tiny:
        sizes, n_items = [200], 20
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
    rng = random.Random(20180815)
    words, cum = vocabulary(rng)
    items = make_items(rng, words, cum, n_items)
    words_per_item = sum(len(i["content"].split()) for i in items) / len(items)
    result = {
        "benchmark": "match",
        "profile": profile.name,
        "items": n_items,
        "mean_words_per_item": round(words_per_item),
        "floors": floors(items),
        "sizes": [run_size(n, items, rng, words, cum, profile) for n in sizes],
        "note": "per item = Document analysis + presearch + evaluation with highlights; "
        "every-rule timing uses the first every_rule_items_sampled items",
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
