"""Poll-cycle cost: naive and competent baselines against our ingest, same data, same run.

A local server (bench/pollserver.py, its own process) serves N feeds of 20–100 items
(50–150 KB) that change between two cycles as real feeds do: half unchanged (304
when asked conditionally), a third re-rendered with no new entry, the rest with 1–3
new entries. Each contender is primed on cycle 0 (not measured) and measured on
cycle 1 (the steady state of a daemon):

- naive: sequential ``urllib`` fetch + ``feedparser.parse`` of every feed (a sample
  of ``--naive-sample`` feeds: it is slow, and the rate is what is compared);
- competent: concurrent httpx with conditional GET, feedparser on every changed body
  in the event loop, new entries found against a seen-set;
- ours: the daemon's poll steps (``monitor.pipeline._poll``) with the same
  functions: ``fetch_feed`` (guarded client, conditional GET, bounded decoding,
  autodiscovery check), body-hash skip, then ``parse_changed_isolated`` in the
  worker pool (entry pre-scan and block signatures: skip when no entry is new or
  edited, else parse + normalize only those), concurrently. Not included: the
  store, matching and dedup.

CPU counts this process and the parse workers (read from /proc), not the server.

    python bench/poll.py [--quick] [--json] [--feeds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from pollserver import start_server  # noqa: E402

from monitor.config import IngestSettings  # noqa: E402
from monitor.ingest.discover import fetch_feed  # noqa: E402
from monitor.ingest.fetch import make_client  # noqa: E402
from monitor.ingest.parseworker import ParsePool, parse_changed_isolated  # noqa: E402
from monitor.models import FeedRef  # noqa: E402

CONCURRENCY = 50  # the competent baseline's fetches at once
OUR_CONCURRENCY = IngestSettings().max_parallel_fetches  # polls at once, as the daemon
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by this process, its reaped children and ``pids``."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError, ValueError):
            pass
    return total


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of ``pid``, or of this process."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def set_cycle(base: str, cycle: int) -> None:
    async with httpx.AsyncClient() as client:
        (await client.get(f"{base}/_cycle/{cycle}")).raise_for_status()


async def ours(base: str, feeds: int, state: dict, pool: ParsePool) -> dict:
    """One poll cycle of our ingest, the daemon's steps (monitor.pipeline._poll).

    ``state`` holds what the store keeps per feed (validators, body hash, entry
    signatures) and the ids seen, to count new entries as the store would.
    """
    counts = {"not_modified": 0, "same_body": 0, "prescan_skip": 0, "parsed": 0, "new": 0}
    limit = asyncio.Semaphore(OUR_CONCURRENCY)
    host_slot = asyncio.Semaphore(OUR_CONCURRENCY)  # one local server stands in for many hosts
    now = datetime.now(UTC)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        url = f"{base}/feed/{i}.xml"
        known = state.setdefault(i, {"etag": None, "lm": None, "sha": None, "sigs": None})
        known.setdefault("ids", set())
        async with limit:  # held through the parse: at most OUR_CONCURRENCY bodies in memory
            await one_locked(client, i, url, known)

    async def one_locked(client: httpx.AsyncClient, i: int, url: str, known: dict) -> None:
        result = await fetch_feed(
            client,
            url,
            name=f"feed {i}",
            slot=lambda _url: host_slot,
            etag=known["etag"],
            last_modified=known["lm"],
            timeout=30,
            max_bytes=10 << 20,
            allow_private=True,
        )
        known["etag"], known["lm"] = result.etag, result.last_modified
        if result.not_modified or result.body is None:
            counts["not_modified"] += 1
            return
        if result.body_sha256 == known["sha"]:
            counts["same_body"] += 1
            return
        known["sha"] = result.body_sha256
        feed = FeedRef(f"feed {i}", url)
        changed = await parse_changed_isolated(
            result.body, result.url, result.content_type, feed, now, known["sigs"], pool=pool
        )
        known["sigs"] = changed.signatures
        if changed.meta is None:
            counts["prescan_skip"] += 1
            return
        counts["parsed"] += 1
        counts["new"] += sum(1 for item in changed.items if item.id not in known["ids"])
        known["ids"].update(item.id for item in changed.items)

    async with make_client(guarded=True) as client:
        await asyncio.gather(*(one(client, i) for i in range(feeds)))
    return counts


async def competent(base: str, feeds: int, state: dict) -> dict:
    """Concurrent httpx + conditional GET + feedparser in the event loop."""
    counts = {"not_modified": 0, "parsed": 0, "new": 0}
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        known = state.setdefault(i, {"etag": None, "ids": set()})
        headers = {"If-None-Match": known["etag"]} if known["etag"] else {}
        async with limit:
            response = await client.get(f"{base}/feed/{i}.xml", headers=headers)
        if response.status_code == 304:
            counts["not_modified"] += 1
            return
        known["etag"] = response.headers.get("ETag")
        parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
        ids = {e.get("id") or e.get("link") for e in parsed.entries}
        counts["parsed"] += 1
        counts["new"] += len(ids - known["ids"])
        known["ids"] |= ids

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as client:
        await asyncio.gather(*(one(client, i) for i in range(feeds)))
    return counts


def naive(base: str, feeds: int) -> dict:
    """Sequential urllib fetch and feedparser.parse of every feed (never a URL)."""
    entries = 0
    for i in range(feeds):
        with urllib.request.urlopen(f"{base}/feed/{i}.xml", timeout=30) as response:
            entries += len(feedparser.parse(response.read()).entries)
    return {"parsed": feeds, "entries": entries}


async def measure(run, pids: list[int]) -> dict:
    """Await ``run``; its counts plus wall seconds and CPU seconds."""
    cpu0, wall0 = proc_cpu(pids), time.perf_counter()
    counts = await run
    return {**counts, "wall_s": time.perf_counter() - wall0, "cpu_s": proc_cpu(pids) - cpu0}


def rates(run: dict, feeds: int) -> dict:
    """feeds/s and CPU-seconds per 1,000 feeds of one measured run."""
    return {
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in run.items()},
        "feeds": feeds,
        "feeds_per_s": round(feeds / run["wall_s"], 1),
        "cpu_s_per_1000_feeds": round(run["cpu_s"] / feeds * 1000, 3),
    }


async def run_all(feeds: int, naive_feeds: int) -> dict:
    """Prime on cycle 0, measure on cycle 1: ours, then competent, then naive."""
    server, base = start_server(feeds)
    try:
        pool = ParsePool(workers=2)
        ours_state: dict = {}
        await set_cycle(base, 0)
        await ours(base, feeds, ours_state, pool)
        await set_cycle(base, 1)
        ours_run = rates(await measure(ours(base, feeds, ours_state, pool), pool.pids()), feeds)
        main_rss = peak_rss_mb()
        workers_rss = [peak_rss_mb(pid) for pid in pool.pids()]
        await pool.close()
        comp_state: dict = {}
        await set_cycle(base, 0)
        await competent(base, feeds, comp_state)
        await set_cycle(base, 1)
        comp_run = rates(await measure(competent(base, feeds, comp_state), []), feeds)

        async def naive_run() -> dict:
            return naive(base, naive_feeds)

        naive_res = rates(await measure(naive_run(), []), naive_feeds)
    finally:
        server.kill()
        server.join(5)
    return report(feeds, ours_run, comp_run, naive_res, main_rss, workers_rss)


def report(feeds, ours_run, comp_run, naive_res, main_rss, workers_rss) -> dict:
    """The JSON result: absolute figures, ratios and the 10k-feed extrapolation."""
    core_share = ours_run["cpu_s_per_1000_feeds"] * 10 / 300
    total_rss = main_rss + sum(workers_rss)
    return {
        "benchmark": "poll",
        "feeds": feeds,
        "ours": ours_run,
        "competent": comp_run,
        "naive": naive_res,
        "ratio_feeds_per_s_ours_over_naive": round(
            ours_run["feeds_per_s"] / naive_res["feeds_per_s"], 2
        ),
        "ratio_feeds_per_s_ours_over_competent": round(
            ours_run["feeds_per_s"] / comp_run["feeds_per_s"], 2
        ),
        "ratio_cpu_naive_over_ours": round(
            naive_res["cpu_s_per_1000_feeds"] / ours_run["cpu_s_per_1000_feeds"], 2
        ),
        "ratio_cpu_competent_over_ours": round(
            comp_run["cpu_s_per_1000_feeds"] / ours_run["cpu_s_per_1000_feeds"], 2
        ),
        "new_entries_agree": ours_run["new"] == comp_run["new"],
        "ours_peak_rss_mb": round(main_rss, 1),
        "ours_worker_peak_rss_mb": [round(r, 1) for r in workers_rss],
        "ours_total_peak_rss_mb": round(total_rss, 1),
        "extrapolated_core_share_10k_feeds_per_5min": round(core_share, 4),
        "targets": {
            "ge_10x_naive": ours_run["feeds_per_s"] >= 10 * naive_res["feeds_per_s"],
            "ge_3x_competent": ours_run["feeds_per_s"] >= 3 * comp_run["feeds_per_s"],
            "peak_rss_le_300mb": total_rss <= 300,
            "10k_per_5min_lt_25pct_core": core_share < 0.25,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 feeds, under a minute")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--feeds", type=int, help="number of feeds (default 2000, quick 200)")
    parser.add_argument("--naive-sample", type=int, help="feeds the naive baseline polls")
    args = parser.parse_args()
    feeds = args.feeds or (200 if args.quick else 2000)
    naive_feeds = min(feeds, args.naive_sample or (100 if args.quick else 400))
    result = asyncio.run(run_all(feeds, naive_feeds))
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
