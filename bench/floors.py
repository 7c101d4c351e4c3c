"""Floors for bench/peers.py: what the libraries news-monitor runs on cost by themselves.

Each floor is a ``python -c CODE ARGS`` process measured by peers' ``measure()`` (CPU of
the process, peak RSS of its tree) with our environment, doing only the part of a
command that no implementation on these libraries can skip: the imports, loading the
config through our pydantic models, the HTTP requests through httpx on asyncio,
feedparser over the bodies. What our code adds on top (the store, matching, dedup,
mail) is left out, so ours / floor is our overhead and floor / rss2email is the part
of a ratio target the libraries alone already use. Inputs (feed bodies, ETags) are
fetched beforehand, unmeasured, with urllib.

Every CODE exits non-zero when it did not do the work it stands for (a conditional GET
that was not answered 304, a body that yields no entry) and prints what it did (to
peers' log).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The prologue shared by the once and steady floors: the imports a ``run --once``
# cannot avoid and the config loaded and validated by our pydantic models.
STARTUP = """
import asyncio, json, sqlite3, sys
from pathlib import Path
import httpx, yaml
from monitor.config.loading import load
config = load(Path(sys.argv[1]))
"""

# feedparser set up as ours is (sanitizer and relative-URI resolution off, dates deferred,
# guid not resolved, URI joins remembered): the floor is feedparser at its cheapest in
# our hands, set up in one place (monitor/ingest/feedsetup.py).
FEEDPARSER = """
from monitor.ingest.feedsetup import feedparser_module
feedparser = feedparser_module()

def parse(body):
    entries = len(feedparser.parse(body).entries)
    if not entries:
        sys.exit("a feed body yielded no entry")
    return entries
"""

# ONCE_CODE CONFIG ETAG: one conditional GET of the config's first feed; with an ETag,
# a 304 is required (as our primed ``run --once`` gets).
ONCE_CODE = (
    STARTUP
    + """
etag = sys.argv[2]
async def main():
    async with httpx.AsyncClient() as client:
        headers = {"If-None-Match": etag} if etag else {}
        return (await client.get(str(config.feeds[0].url), headers=headers)).status_code
status = asyncio.run(main())
print("once floor: status", status)
if status != (304 if etag else 200):
    sys.exit(f"once floor: got {status}")
"""
)

# FIRST_POLL_CODE DIR: feedparser over every file in DIR (the feed bodies of a cycle).
FIRST_POLL_CODE = (
    "import sys\nfrom pathlib import Path\n"
    + FEEDPARSER
    + """
files = sorted(Path(sys.argv[1]).iterdir())
entries = sum(parse(p.read_bytes()) for p in files)
print("first poll floor:", len(files), "bodies,", entries, "entries")
"""
)

# STEADY_CODE CONFIG ETAGS_JSON: a conditional GET of every feed of the config (16 at a
# time, If-None-Match from ETAGS_JSON, {url: etag}). No parse: ours parses only the new
# entries of a changed body (ingest/changes.py), which a floor parsing every 200 body
# would cost more than (measured: 1.23 s against our whole cycle's 1.05 s, 200 feeds).
STEADY_CODE = (
    STARTUP
    + """
etags = json.loads(Path(sys.argv[2]).read_text())
async def main():
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16)) as client:
        async def get(url):
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            async with limit:
                return await client.get(url, headers=headers)
        return await asyncio.gather(*(get(str(f.url)) for f in config.feeds))
answers = asyncio.run(main())
statuses = [a.status_code for a in answers]
if set(statuses) - {200, 304} or (etags and 304 not in statuses):
    sys.exit(f"steady floor: statuses {sorted(set(statuses))}")
print("steady floor:", statuses.count(200), "x 200,", statuses.count(304), "x 304")
"""
)

# RSS_MAIN_CODE CONFIG: the resident floor of the main process (its imports, numpy
# included, and the validated config).
RSS_MAIN_CODE = """
import asyncio, sqlite3, sys
from pathlib import Path
import httpx, numpy, yaml
from monitor.config.loading import load
print("rss floor, main:", len(load(Path(sys.argv[1])).feeds), "feeds")
"""

# RSS_WORKER_CODE BODY_FILE: the resident floor of a parse worker (feedparser, one body).
RSS_WORKER_CODE = (
    "import sys\nfrom pathlib import Path\n"
    + FEEDPARSER
    + """
print("rss floor, parse worker:", parse(Path(sys.argv[1]).read_bytes()), "entries")
"""
)

Measure = Callable[[list[str]], Any]  # peers' measure() with env, cwd and log bound: a Run


def fetch_bodies(urls: list[str], into: Path) -> dict[str, str]:
    """GET each of ``urls`` once (urllib, not measured) into ``into/NNNNN.xml``.

    Returns ``{url: ETag}`` for the answers that had one (the If-None-Match of the
    next cycle's steady floor). The files are the first-poll floor's input.
    """
    into.mkdir(parents=True, exist_ok=True)
    etags = {}
    for n, url in enumerate(urls):
        with urllib.request.urlopen(url, timeout=60) as answer:
            (into / f"{n:05d}.xml").write_bytes(answer.read())
            if answer.headers.get("ETag"):
                etags[url] = answer.headers["ETag"]
    return etags


def etag_of(url: str) -> str:
    """The ETag of one unconditional GET of ``url`` (urllib, not measured); "" if none."""
    with urllib.request.urlopen(url, timeout=60) as answer:
        answer.read()
        return answer.headers.get("ETag") or ""


def once_floor(measure: Measure, config: Path, etag: str):
    """Run of the once floor: imports, one-feed config, one conditional GET (a 304).

    The floor of ``once_one_feed_cpu_ratio``: what ``run --once`` on one unchanged
    feed cannot do without (CPU s, wall s, RSS MiB as every Run).
    """
    return measure([sys.executable, "-c", ONCE_CODE, str(config), etag])


def first_poll_floor(measure: Measure, bodies: Path):
    """Run of the first-poll floor: feedparser over every cycle-0 body in ``bodies``.

    The floor of ``first_poll_cpu_ratio``: every item of the first poll must be
    parsed; fetching is left out (rss2email pays it too, so the floor stays lower).
    """
    return measure([sys.executable, "-c", FIRST_POLL_CODE, str(bodies)])


def steady_floor(measure: Measure, config: Path, etags: Path):
    """Run of the steady floor: imports, all-feeds config, a conditional GET of every
    feed (If-None-Match from ``etags``, a JSON ``{url: etag}`` of the cycle before);
    no parse (see STEADY_CODE).

    The floor of ``cpu_ratio``; measure it against the same server cycle as the tools.
    """
    return measure([sys.executable, "-c", STEADY_CODE, str(config), str(etags)])


def rss_floor_main(measure: Measure, config: Path):
    """Run of the main process's memory floor: imports (numpy too) and the config."""
    return measure([sys.executable, "-c", RSS_MAIN_CODE, str(config)])


def rss_floor_worker(measure: Measure, body: Path):
    """Run of a parse worker's memory floor: feedparser and one parsed body.

    Our parse workers are separate processes (isolation), so their floor adds to the
    main one in ``rss_floor_mb``.
    """
    return measure([sys.executable, "-c", RSS_WORKER_CODE, str(body)])


def floor_ratios(result: dict, theirs_rss_mb: float, ratio: Callable) -> dict:
    """``*_floor_ratio`` (floor / rss2email: CPU of the medians, peak tree RSS) and
    ``rss_floor_mb`` (main + parse worker peaks, MiB); None where a floor is absent.
    """
    floors, theirs = result.get("floors") or {}, result["rss2email"]

    def cpu(floor: str, phase: str) -> float | None:
        return ratio(floors[floor]["cpu_s"], theirs[phase]["cpu_s"]) if floor in floors else None

    rss = None
    if "rss_floor_main" in floors and "rss_floor_worker" in floors:
        rss = floors["rss_floor_main"]["tree_rss_mb"] + floors["rss_floor_worker"]["tree_rss_mb"]
    return {
        "steady_floor_ratio": cpu("steady_floor", "steady"),
        "first_poll_floor_ratio": cpu("first_poll_floor", "first_poll"),
        "once_floor_ratio": cpu("once_floor", "once_one_feed"),
        "rss_floor_mb": None if rss is None else round(rss, 1),
        "rss_floor_ratio": None if rss is None else ratio(rss, theirs_rss_mb),
    }


def floor_rows(result: dict) -> list[str]:
    """The table's floor section: each floor beside rss2email and ours, both ratios."""
    floors, r = result.get("floors") or {}, result["ratios"]
    if not floors:
        return []
    out = [
        f"{'floors (libraries alone, this run)':42} {'floor':>10} {'rss2email':>10} "
        f"{'floor/r2e':>9} {'ours/r2e':>9}"
    ]
    rows = [
        ("steady cycle CPU (s)", "steady_floor", "steady", "cpu_ratio"),
        ("first poll CPU (s)", "first_poll_floor", "first_poll", "first_poll_cpu_ratio"),
        ("one unchanged feed CPU (s)", "once_floor", "once_one_feed", "once_one_feed_cpu_ratio"),
    ]
    for label, floor, phase, ours in rows:
        if floor in floors:
            a, b = floors[floor]["cpu_s"], result["rss2email"][phase]["cpu_s"]
            out.append(f"{label:42} {a:>10} {b:>10} {r[floor + '_ratio']!s:>9} {r[ours]!s:>9}")
    if r.get("rss_floor_mb") is not None:
        theirs_rss = max(result["rss2email"][k]["tree_rss_mb"] for k in ("first_poll", "steady"))
        out.append(
            f"{'peak RSS, main + parse worker (MiB)':42} {r['rss_floor_mb']:>10} "
            f"{theirs_rss:>10} {r['rss_floor_ratio']!s:>9} {r['rss_ratio']!s:>9}"
        )
    return out


def write_etags(etags: dict[str, str], path: Path) -> Path:
    """Write ``{url: etag}`` as JSON to ``path`` (the steady floor's input); return it."""
    path.write_text(json.dumps(etags))
    return path
