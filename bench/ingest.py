"""Ingest cost: our parse → normalize → match per item, against bare feedparser.

Both run in this process on the same synthetic feed (the seed story and its
neighbours repeated with distinct guids). The baseline is ``feedparser.parse`` on
the bytes alone, stock (measured before our first parse sets feedparser up, with its
sanitizer off and its shortcuts: monitor/ingest/feedsetup.py); ours adds normalization
(HTML → text, dates, ids) and matching against the rules. The ratio says what our
stages cost on top of parsing.

    python bench/ingest.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import FeedRef
from monitor.rules.index import RuleSet

SEED = Path(__file__).parent.parent / "tests" / "data" / "seed" / "feed-full.xml"
RULES = [
    ("pompeo-pyongyang", "Pompeo AND Pyongyang"),
    ("end-of-war", "end-of-war declaration"),
    ("peace", '"peace regime" OR denucleari*'),
    ("typhoon", "title:typhoon AND NOT Japan"),
]


def synthetic_feed(copies: int) -> bytes:
    """The seed feed's items repeated ``copies`` times with unique guids."""
    text = SEED.read_text().replace("__BASE__", "http://127.0.0.1:1")
    head, rest = text.split("<item>", 1)
    body, tail = ("<item>" + rest).rsplit("</channel>", 1)
    items = "".join(
        re.sub(r"<guid([^>]*)>([^<]+)</guid>", rf"<guid\1>\2-{n}</guid>", body)
        for n in range(copies)
    )
    return (head + items + "</channel>" + tail).encode()


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    copies, runs = (20, 3) if args.quick else (200, 5)
    body = synthetic_feed(copies)
    rules = RuleSet(RULES)
    now = datetime.now(UTC)
    feed = FeedRef("bench", "http://127.0.0.1:1/feed.xml")

    def baseline() -> None:
        feedparser.parse(body, response_headers={"content-type": "application/rss+xml"})

    def ours() -> None:
        parsed = parse_feed(body, feed.url, "application/rss+xml")
        for item in normalize_feed(parsed, feed, now):
            rules.match(item.fields())

    items = copies * 5
    # the baseline first: our first parse sets feedparser up with its shortcuts
    # (monitor/ingest/feedsetup.py), for the rest of the process
    base_s = best_of(runs, baseline)
    ours_s = best_of(runs, ours)
    result = {
        "benchmark": "ingest",
        "items": items,
        "rules": len(RULES),
        "feed_bytes": len(body),
        "baseline_feedparser_ms_per_item": round(base_s / items * 1000, 4),
        "ours_parse_normalize_match_ms_per_item": round(ours_s / items * 1000, 4),
        "ratio_ours_over_baseline": round(ours_s / base_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:42} {value}")


if __name__ == "__main__":
    sys.exit(main())
