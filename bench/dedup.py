"""Dedup cost: fingerprinting an article, and finding its near-duplicate among many.

In one process on the same data: SimHash of 1,000-word articles (ours, numpy) per
item; and lookups among 100,000 and 1,000,000 stored fingerprints with our block
index against a brute-force scan (numpy XOR + popcount over every fingerprint, the
fastest way to do it without an index). Reports µs per operation, ratios, peak RSS.

    python bench/dedup.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
import tracemalloc

import numpy as np

from monitor.dedup import FingerprintIndex
from monitor.dedup.fingerprint import simhash

WORDS_PER_ARTICLE = 1000


def article(rng: random.Random, vocabulary: list[str]) -> str:
    words = rng.choices(vocabulary, k=WORDS_PER_ARTICLE)
    return " ".join(w + ("." if i % 17 == 16 else ",") * (i % 9 == 0) for i, w in enumerate(words))


def per_call_us(fn, calls: list) -> float:
    start = time.perf_counter()
    for args in calls:
        fn(*args)
    return (time.perf_counter() - start) / len(calls) * 1e6


def bench_fingerprint(rng: random.Random, count: int) -> dict:
    vocabulary = [f"{rng.choice('bcdfghklmnprst')}{rng.randrange(10**5)}" for _ in range(20_000)]
    texts = [(article(rng, vocabulary),) for _ in range(count)]
    simhash(texts[0][0])  # warm-up
    return {
        "articles": count,
        "words_per_article": WORDS_PER_ARTICLE,
        "fingerprint_us_per_article": round(per_call_us(simhash, texts), 1),
    }


def build(fps: list[int]) -> FingerprintIndex:
    index = FingerprintIndex(3)
    for n, fp in enumerate(fps):
        index.add(fp, n, 0.0)
    return index


def bench_lookup(rng: random.Random, stored: int, probes: int) -> dict:
    fps = [rng.getrandbits(64) - (1 << 63) for _ in range(stored)]
    start = time.perf_counter()
    index = build(fps)
    build_s = time.perf_counter() - start
    del index
    tracemalloc.start()
    index = build(fps)
    index_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    near = [(fps[rng.randrange(stored)] ^ (1 << rng.randrange(63)),) for _ in range(probes // 2)]
    far = [(rng.getrandbits(64) - (1 << 63),) for _ in range(probes - len(near))]
    calls = near + far
    array = np.array(fps, dtype=np.int64).view(np.uint64)

    def brute(fp: int) -> int | None:
        distances = np.bitwise_count(array ^ np.uint64(fp & 0xFFFFFFFFFFFFFFFF))
        best = int(distances.argmin())
        return best if distances[best] <= 3 else None

    ours = per_call_us(lambda fp: index.nearest(fp), calls)
    brute_calls = calls[: max(20, probes // 20)]
    baseline = per_call_us(brute, brute_calls)
    found = sum(index.nearest(fp) is not None for (fp,) in near)
    return {
        "stored": stored,
        "index_build_s": round(build_s, 2),
        "index_memory_mb": round(index_mb, 1),
        "ours_lookup_us": round(ours, 2),
        "brute_force_numpy_lookup_us": round(baseline, 1),
        "ratio_brute_over_ours": round(baseline / ours, 1),
        "near_probes_found": f"{found}/{len(near)}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, well under a minute")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    rng = random.Random(5)
    sizes = [10_000, 100_000] if args.quick else [100_000, 1_000_000]
    result = {"benchmark": "dedup", **bench_fingerprint(rng, 200 if args.quick else 2000)}
    result["lookups"] = [bench_lookup(rng, n, 2000 if args.quick else 20_000) for n in sizes]
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
