"""Several instances on one PostgreSQL beside one on SQLite: poll throughput, CPU, claims.

The local feed server of bench/poll.py (bench/pollserver.py, its own process) serves N
feeds that change between cycles as real feeds do. Real daemons (``news-monitor run``
subprocesses, each with its own state_dir) poll them:

- one instance on SQLite (the default store);
- 1, 2 and 3 instances on one PostgreSQL database (a throwaway server started like the
  test suite's, tests/pgserver.py: unix socket only, ``fsync=off``).

Each store is primed on cycle 0 (every feed's first poll, not measured: PostgreSQL once,
then copied as a template for each instance count). Then the server switches to cycle
1, every feed is made due, the daemons start, and the store is sampled every 0.2 s
until every feed was polled again. Polls per second and CPU seconds per 1,000 polls are
taken between 10 % (at least 60 feeds) and 90 % of the feeds polled (the start-up, and
the SQLite daemon's first-run spread of its first 50 feeds over 10 s, stay outside),
CPU summed over the instances' process trees (daemon and parse workers), PostgreSQL's
own server processes reported apart. ``all_polled_s`` counts from the daemons' launch;
a run too small for that window (every feed polled before the second sample) is
measured from the launch to the end.

Claim latency: 50,000 due feeds, 4 claimers (threads, each its own connection) taking
16 feeds a claim (the default poll slots) until none is due: ms per claim, median and
p95, as the claim loop does it (no key list) and, for a few claims, with the list of
50,000 configured keys that the loop passed before.

    python bench/cluster.py [--quick] [--json] [--feeds N] [--claim-feeds N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from pollserver import set_cycle, start_server  # noqa: E402

from monitor.store.leases import claim_feeds, ensure_feeds  # noqa: E402
from monitor.store.sqlite import Store  # noqa: E402
from tests.integration.daemon_helpers import DaemonProcess  # noqa: E402
from tests.pgserver import PgServer, require_bindir  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
CLAIMERS = 4
CLAIM_SLOTS = 16  # feeds a claim (ingest.max_parallel_fetches' default)
KEYED_CLAIMS = 5  # claims each claimer makes with the key list (slow: a few suffice)


def tree_cpus(*groups: list[int]) -> list[float]:
    """CPU seconds of each group of root pids with all their descendants (reaped
    children included), from one read of ``/proc``."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / TICK
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    totals = []
    for roots in groups:
        tree, frontier = set(roots), list(roots)
        while frontier:
            kids = [pid for pid in children.get(frontier.pop(), []) if pid not in tree]
            tree.update(kids)
            frontier += kids
        totals.append(sum(times.get(pid, 0.0) for pid in tree))
    return totals


def write_config(path: Path, base: str, feeds: int, store_url: str | None) -> Path:
    """The one config every instance of a run reads (state_dir comes from the env)."""
    config = {
        "allow_private_networks": True,
        "defaults": {"interval": "1h"},
        "feeds": [{"url": f"{base}/feed/{i}.xml", "name": f"feed {i}"} for i in range(feeds)],
        "rules": [{"name": "pompeo", "query": "pompeo AND pyongyang"}],
        "channels": {"console": {"type": "console"}},
    }
    if store_url is not None:
        config["store"] = {"url": store_url, "lease": "60s"}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Target:
    """One store the daemons share: counts polls since a moment, makes every feed due."""

    def __init__(self, sqlite_dir: Path | None = None, pg_url: str | None = None) -> None:
        self.sqlite_dir, self.pg_url = sqlite_dir, pg_url
        self._pg: Any = None  # one connection for every sample: a new one per 0.2 s
        # sample forked a PostgreSQL backend each time, counted as the daemons' cost

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.pg_url is not None:
            if self._pg is None or self._pg.closed:
                self._pg = psycopg.connect(self.pg_url, autocommit=True)
            cursor = self._pg.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
        with sqlite3.connect(self.sqlite_dir / "state" / "monitor.db", timeout=30) as conn:
            return conn.execute(sql, params).fetchall()

    def polled_since(self, stamp: str) -> int:
        """Feeds whose last poll is at or after ``stamp`` (stored text, UTC)."""
        return self._run("SELECT COUNT(*) FROM feeds WHERE last_polled >= ?", (stamp,))[0][0]

    def close(self) -> None:
        """Close the PostgreSQL connection, if one was opened."""
        if self._pg is not None:
            self._pg.close()

    def make_due(self) -> str:
        """Every feed due now; the stamp (this second, stored text) from which a poll
        counts, taken at a second's start so that no earlier poll shares it."""
        time.sleep(1 - time.time() % 1)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._run("UPDATE feeds SET next_poll = ?", (stamp,))
        return stamp


def start_daemons(config: Path, directory: Path, count: int) -> list[DaemonProcess]:
    """``count`` daemons on ``config``, each with its own state_dir; once all started."""
    started = []
    for n in range(count):
        workdir = directory / f"instance{n}"
        workdir.mkdir(parents=True, exist_ok=True)
        state = directory / "state" if count == 1 else workdir / "state"
        started.append(DaemonProcess(config, workdir, {"NEWS_MONITOR_STATE_DIR": str(state)}))
    for daemon in started:
        daemon.wait_for_log("monitor.daemon: started", timeout=120)
    return started


def stop_all(started: list[DaemonProcess]) -> None:
    """SIGTERM every daemon and wait for it (killed after a minute)."""
    for daemon in started:
        daemon.signal(15)
    for daemon in started:
        try:
            daemon.stop()
        except Exception:
            daemon.kill()


def poll_all(
    target: Target,
    feeds: int,
    stamp: str,
    roots: Callable[[], list[int]],
    launch: tuple[float, ...] | None = None,
) -> list:
    """Samples (seconds, feeds polled, instances' CPU s, postgres CPU s) every 0.2 s
    until every feed was polled after ``stamp`` (at most 10 minutes). ``launch``: the
    sample taken as the daemons were started (its time, nothing polled, the CPU then),
    the first one and the origin of the seconds; without it, the first call is."""
    samples = [(0.0, *launch[1:])] if launch else []
    start = launch[0] if launch else time.perf_counter()
    while time.perf_counter() - start < 600:
        done = target.polled_since(stamp)
        samples.append((time.perf_counter() - start, done, *roots()))
        if done >= feeds:
            return samples
        time.sleep(0.2)
    raise RuntimeError(f"only {done} of {feeds} feeds polled in 10 minutes")


def window(samples: list, feeds: int) -> dict:
    """Rates between the first samples at >= 10 % (and past the first 60: the SQLite
    daemon spreads its first 50 first runs over 10 s) and >= 90 % of the feeds polled."""
    low = next(s for s in samples if s[1] >= max(feeds * 0.1, min(60, feeds * 0.5)))
    high = next((s for s in samples if s[1] >= max(feeds * 0.9, low[1] + 1)), None)
    if high is None:  # a tiny run: polled between two samples; the whole run then
        low, high = samples[0], samples[-1]
    polls, seconds = high[1] - low[1], high[0] - low[0]
    return {
        "polls_measured": polls,
        "polls_per_s": round(polls / seconds, 1) if polls and seconds > 0 else None,
        "cpu_s_per_1000_polls": round((high[2] - low[2]) / polls * 1000, 3) if polls else None,
        "postgres_cpu_s_per_1000_polls": (
            round((high[3] - low[3]) / polls * 1000, 3) if polls else None
        ),
        "all_polled_s": round(samples[-1][0], 2),
    }


def run(config: Path, directory: Path, target: Target, count: int, feeds: int, pg: list) -> dict:
    """Cycle 1 with ``count`` daemons on a primed store: the measured window."""
    stamp = target.make_due()
    # 24 feeds can all be polled before the daemons say they started: the window and
    # all_polled_s count from the launch (no instance CPU yet, postgres' as it is)
    launch = (time.perf_counter(), 0, 0.0, *tree_cpus(pg))
    started = start_daemons(config, directory, count)
    try:
        pids = [d.proc.pid for d in started]
        samples = poll_all(target, feeds, stamp, lambda: tree_cpus(pids, pg), launch)
    finally:
        stop_all(started)
        target.close()
    return {"instances": count, **window(samples, feeds)}


def prime(config: Path, directory: Path, target: Target, count: int, feeds: int) -> float:
    """Cycle 0: every feed's first poll (not measured); its wall seconds."""
    start, stamp = time.perf_counter(), "0000"
    started = start_daemons(config, directory, count)
    try:
        poll_all(target, feeds, stamp, list)
    finally:
        stop_all(started)
        target.close()  # the primed database is a template: no connection may stay
    return round(time.perf_counter() - start, 1)


def claim_latency(url: str, feeds: int) -> dict:
    """ms per claim with ``feeds`` due feeds and :data:`CLAIMERS` concurrent claimers,
    without a key list (until none is due) and with it (:data:`KEYED_CLAIMS` each)."""
    keys = [f"https://f{n:06d}.example/rss" for n in range(feeds)]
    with closing(Store.open_postgres(url)) as store:
        ensure_feeds(store, [(k, k) for k in keys], datetime.now(UTC) - timedelta(seconds=5))
    result = {"feeds": feeds, "claimers": CLAIMERS, "feeds_a_claim": CLAIM_SLOTS}
    for name, wanted, rounds in (("no_key_list", None, None), ("key_list", keys, KEYED_CLAIMS)):
        times = _claimers(url, wanted, rounds)
        result[name] = {
            "claims": len(times),
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(statistics.quantiles(times, n=20)[-1], 2),
        }
    return result


def _claimers(url: str, keys: list[str] | None, rounds: int | None) -> list[float]:
    """Run the claimers; every claim's time in ms (the feeds made due again after)."""
    barrier, times, lock = threading.Barrier(CLAIMERS), [], threading.Lock()

    def claimer(n: int) -> None:
        with closing(Store.open_postgres(url)) as store:
            barrier.wait()
            done = 0
            while rounds is None or done < rounds:
                start = time.perf_counter()
                got = claim_feeds(store, f"c{n}", keys, CLAIM_SLOTS, 3600)
                with lock:
                    times.append((time.perf_counter() - start) * 1000)
                done += 1
                if not got:
                    break

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL,"
            " next_poll = '2000-01-01T00:00:00Z'"
        )
    return times


def run_all(feeds: int, claim_feeds_n: int, directory: Path) -> dict:
    """Everything, one feed server and one PostgreSQL server."""
    server, base = start_server(feeds)
    pg = PgServer(require_bindir())
    pg.start()
    try:
        postmaster = [int((pg.data_dir / "postmaster.pid").read_text().split()[0])]
        out: dict = {"benchmark": "cluster", "feeds": feeds, "postgres_fsync": "off"}
        set_cycle(base, 0)
        lite = directory / "sqlite"
        lite_config = write_config(directory / "sqlite.yaml", base, feeds, None)
        lite_target = Target(sqlite_dir=lite)
        out["sqlite_prime_s"] = prime(lite_config, lite, lite_target, 1, feeds)
        primed = pg.create_database("primed")
        pg_config = write_config(directory / "primed.yaml", base, feeds, primed)
        out["postgresql_prime_s"] = prime(
            pg_config, directory / "primed", Target(pg_url=primed), 3, feeds
        )
        set_cycle(base, 1)
        out["sqlite"] = run(lite_config, lite, lite_target, 1, feeds, [])
        out["postgresql"] = []
        for count in (1, 2, 3):
            pg.sql(f"CREATE DATABASE run{count} TEMPLATE primed")
            url = pg.url(f"run{count}")
            config = write_config(directory / f"run{count}.yaml", base, feeds, url)
            target = Target(pg_url=url)
            out["postgresql"].append(
                run(config, directory / f"run{count}", target, count, feeds, postmaster)
            )
        out["claims"] = claim_latency(pg.create_database("claims"), claim_feeds_n)
    finally:
        pg.stop()
        server.kill()
        server.join(5)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1000 feeds, a few minutes")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--feeds", type=int, help="feeds polled (default 2000, quick 1000)")
    parser.add_argument("--claim-feeds", type=int, default=50_000, help="feeds for claims")
    args = parser.parse_args()
    feeds = args.feeds or (1000 if args.quick else 2000)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        result = run_all(feeds, args.claim_feeds, Path(tmp))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
