"""news-monitor beside rss2email: the same local feeds, the same SMTP sink, runs interleaved.

rss2email (pinned, ``RSS2EMAIL_VERSION``) is installed once from the package registry
into its own virtual environment under ``bench/.peers/`` (git-ignored). A local feed
server (bench/pollserver.py, its own process) serves N feeds of 20–100 items; an SMTP
sink (aiosmtpd, a thread of this process) receives both tools' mail and counts the
messages and the distinct item links in them, so the report shows both did the same
work. Each tool runs as a one-shot command in a subprocess, ours then theirs:

- **first poll** (cycle 0, fresh state): ours ``run --once`` with ``backfill: 0``
  (every item is fetched, parsed, matched and recorded as seen; nothing is alerted);
  theirs ``r2e run --no-send`` (every entry fetched, parsed and recorded as seen in
  its JSON data file; nothing mailed). A plain first ``r2e run`` would mail every
  entry in every feed; ``r2e add --only-new`` is the same as ``run --no-send``.
  ``--first-polls N`` measures N of each (fresh state each time, interleaved; the
  ratio is of the medians); the first one's state goes on to the steady cycles.
- **steady cycle** (cycles 1, 2, …, each against the one before, ``--cycles`` of
  them): half the feeds unchanged (304), a third re-rendered, the rest with 1–3 new
  entries. Ours: one rule that matches every item (an OR of every word the feeds
  use), one email channel, a digest per run; theirs: one email per new entry (its
  default). Both to the same sink.
- **one feed, unchanged** (``--once-rounds`` of them): a separate state with only
  feed 0, primed, then ``run --once`` against ``r2e run`` (a 304 for both).
- **the daemon** (``--daemon-cycles N``, default 3; 0 skips): ours as it is deployed,
  ``news-monitor run`` on the steady cycles' state for N more cycles
  (bench/daemoncycle.py), its CPU a cycle against rss2email's steady cycle
  (``daemon_cpu_ratio``; rss2email has no daemon, cron runs it) and its peak tree RSS
  against rss2email's (``daemon_rss_ratio``). Start-up is paid once there, not per
  cycle.

Measured per run: CPU (user + sys of the process and every descendant it waited
for: ``os.wait4``'s rusage), wall time, peak RSS of the whole process tree (VmRSS of
the process and its descendants summed, sampled every 50 ms; the max) and of the
largest single process (same samples; not ``ru_maxrss``, which can count the forked
child of this process before it execs), and after the first poll the state on disk
(our ``state_dir``, every file; rss2email's data file). Ratios are ours / rss2email
of the medians (peak memory: of the maxima).

Floors (bench/floors.py; ``--no-floors`` skips them), measured in the same run as
``python -c`` processes with our environment: what the libraries we run on cost when
doing only what the command cannot do without them. **once**: import asyncio, sqlite3,
httpx, PyYAML, load the one-feed config (pydantic), one conditional GET (a 304).
**first poll**: feedparser (set up as ours) over every cycle-0 body, read from files.
**steady**: the once start-up on the all-feeds config, a conditional GET of every feed
(httpx, 16 at a time, the previous cycle's ETags), no parse (ours parses only new
entries); at cycle 1, after both tools. **memory**: peak RSS of a process importing those and numpy
with the config loaded, plus a parse worker's (feedparser, one body; our parse workers
are processes). ``*_floor_ratio`` = floor / rss2email: the part of a target already used.

Ours gets ``ingest.max_per_host`` = ``max_parallel_fetches`` (16): every bench feed
is on 127.0.0.1, which stands in for N different hosts. rss2email fetches one feed
at a time (it has no concurrency).

    python bench/peers.py [--quick | --feeds N | --large] [--json] [--cycles N]
                          [--first-polls N] [--daemon-cycles N]
"""

from __future__ import annotations

import argparse
import email
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import daemoncycle  # noqa: E402
import floors  # noqa: E402
from pollserver import WORDS, item_count, new_entries, set_cycle, start_server  # noqa: E402

RSS2EMAIL_VERSION = "3.14"  # the newest 3.x in the registry (checked 2026-11-30)
PEERS = HERE / ".peers"
OURS_TO = "ours@bench.invalid"
THEIRS_TO = "theirs@bench.invalid"
LINK = re.compile(rb"news\.example/(\d+)/(\d+)\.html")
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05


@dataclass
class Run:
    """One measured command: CPU and wall time in seconds, memory in MiB."""

    cpu_s: float
    wall_s: float
    tree_rss_mb: float  # peak of the summed VmRSS of the process and its descendants
    largest_rss_mb: float  # peak RSS of the largest single process, sampled


def ensure_rss2email(root: Path = PEERS, version: str = RSS2EMAIL_VERSION) -> Path:
    """The ``r2e`` command of a virtual environment with rss2email ``version``.

    Created once under ``root`` (``python -m venv`` + ``pip install rss2email==VERSION``
    from the configured package index); later calls reuse it.
    """
    venv = root / f"rss2email-{version}"
    r2e = venv / "bin" / "r2e"
    if r2e.exists():
        return r2e
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"rss2email=={version}"],
        check=True,
    )
    return r2e


def our_config(state: Path, base: str, feeds: list[int], smtp_port: int) -> dict:
    """Our config: ``feeds`` from ``base``, one rule matching every item, one email channel."""
    return {
        "state_dir": str(state),
        "allow_private_networks": True,
        # The interval matters only to the daemon run (bench/daemoncycle.py): one-shot
        # runs poll every feed whatever its next poll.
        "defaults": {"interval": f"{daemoncycle.INTERVAL_S}s", "timeout": "30s", "backfill": 0},
        "ingest": {"max_per_host": 16},
        "feeds": [{"name": f"feed-{i}", "url": f"{base}/{i}.xml"} for i in feeds],
        "rules": [{"name": "every-item", "query": " OR ".join(WORDS), "notify": ["mail"]}],
        "channels": {
            "mail": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": smtp_port, "starttls": False},
                "from": "bench@bench.invalid",
                "to": [OURS_TO],
            }
        },
    }


def r2e_config(base: str, feeds: list[int], smtp_port: int) -> str:
    """rss2email's config (INI): the same feeds, plain SMTP to the sink, no auth or TLS."""
    lines = [
        "[DEFAULT]",
        "from = bench@bench.invalid",
        f"to = {THEIRS_TO}",
        "email-protocol = smtp",
        f"smtp-server = 127.0.0.1:{smtp_port}",
        "smtp-auth = False",
        "smtp-ssl = False",
        "feed-timeout = 30",
        "",
    ]
    for i in feeds:
        lines += [f"[feed.feed-{i}]", f"url = {base}/{i}.xml", ""]
    return "\n".join(lines)


def ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs`` rounded to 3 places; None when ``theirs`` is 0."""
    return round(ours / theirs, 3) if theirs else None


def summarize(runs: list[Run]) -> dict:
    """Medians of CPU and wall time (s) and the maxima of peak memory (MiB) over ``runs``."""
    return {
        "runs": len(runs),
        "cpu_s": round(statistics.median(r.cpu_s for r in runs), 3),
        "wall_s": round(statistics.median(r.wall_s for r in runs), 3),
        "tree_rss_mb": round(max(r.tree_rss_mb for r in runs), 1),
        "largest_rss_mb": round(max(r.largest_rss_mb for r in runs), 1),
        "all": [asdict(r) for r in runs],
    }


def ratios(result: dict) -> dict:
    """The headline ratios (ours / rss2email) and bytes per item from a ``result``."""
    ours, theirs = result["ours"], result["rss2email"]
    memory = {
        side: max(s[k]["tree_rss_mb"] for k in ("first_poll", "steady"))
        for side, s in (("ours", ours), ("rss2email", theirs))
    }
    items = result["items_first_poll"]
    daemon = ours.get("daemon")
    if daemon:
        extra = {
            "daemon_cpu_ratio": ratio(daemon["cpu_s"], theirs["steady"]["cpu_s"]),
            "daemon_rss_ratio": ratio(daemon["tree_rss_mb"], memory["rss2email"]),
        }
    else:
        extra = {}
    return (
        floors.floor_ratios(result, memory["rss2email"], ratio)
        | extra
        | {
            "cpu_ratio": ratio(ours["steady"]["cpu_s"], theirs["steady"]["cpu_s"]),
            "wall_ratio": ratio(ours["steady"]["wall_s"], theirs["steady"]["wall_s"]),
            "rss_ratio": ratio(memory["ours"], memory["rss2email"]),
            "largest_process_rss_ratio": ratio(
                max(ours[k]["largest_rss_mb"] for k in ("first_poll", "steady")),
                max(theirs[k]["largest_rss_mb"] for k in ("first_poll", "steady")),
            ),
            "db_ratio": ratio(ours["state_bytes"], theirs["state_bytes"]),
            "once_one_feed_cpu_ratio": ratio(
                ours["once_one_feed"]["cpu_s"], theirs["once_one_feed"]["cpu_s"]
            ),
            "once_one_feed_wall_ratio": ratio(
                ours["once_one_feed"]["wall_s"], theirs["once_one_feed"]["wall_s"]
            ),
            "first_poll_cpu_ratio": ratio(
                ours["first_poll"]["cpu_s"], theirs["first_poll"]["cpu_s"]
            ),
            "first_poll_wall_ratio": ratio(
                ours["first_poll"]["wall_s"], theirs["first_poll"]["wall_s"]
            ),
            "db_bytes_per_item": round(ours["state_bytes"] / items, 1) if items else None,
            "rss2email_db_bytes_per_item": round(theirs["state_bytes"] / items, 1)
            if items
            else None,
        }
    )


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory (MiB) now of ``pid`` and its descendants: summed, and the largest."""
    kids, total, largest, todo = _children(), 0, 0, [pid]
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                rss = int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        total, largest = total + rss, max(largest, rss)
    return total / 2**20, largest / 2**20


def measure(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> Run:
    """Run ``cmd`` to the end and measure it; raise with the log's tail if it fails."""
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=out)
        peak = largest = 0.0
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                tree, one = tree_rss_mb(proc.pid)
                peak, largest = max(peak, tree), max(largest, one)
                time.sleep(SAMPLE_SECONDS)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}:\n{tail}")
    return Run(
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
        wall_s=round(wall, 3),
        tree_rss_mb=round(peak, 1),
        largest_rss_mb=round(largest, 1),
    )


def dir_bytes(path: Path) -> int:
    """Bytes of every regular file under ``path`` (or of the file ``path``)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Sink:
    """An SMTP server on 127.0.0.1 that keeps, per recipient, messages and item links."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: dict[str, int] = {}
        self.links: dict[str, set[tuple[int, int]]] = {}
        self.lock = threading.Lock()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd)
        """Count the message and the distinct item links in its decoded parts."""
        message = email.message_from_bytes(envelope.content)
        found = set()
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found |= {(int(a), int(b)) for a, b in LINK.findall(payload)}
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages[rcpt] = self.messages.get(rcpt, 0) + 1
                self.links.setdefault(rcpt, set()).update(found)
        return "250 OK"

    def count(self, rcpt: str) -> tuple[int, int]:
        """Messages and distinct item links received for ``rcpt`` since the last take."""
        with self.lock:
            return self.messages.get(rcpt, 0), len(self.links.get(rcpt, set()))

    def take(self, rcpt: str) -> tuple[int, int]:
        """Messages and distinct item links received for ``rcpt`` since the last call."""
        with self.lock:
            return self.messages.pop(rcpt, 0), len(self.links.pop(rcpt, set()))

    def stop(self) -> None:
        """Stop the server thread."""
        self.controller.stop()


class Side:
    """One tool's commands on one set of feeds, in its own directory."""

    def __init__(self, name: str, root: Path, cmd: list[str], env: dict[str, str]) -> None:
        self.name, self.root, self.cmd, self.env = name, root, cmd, env
        self.log = root / "log.txt"

    def run(self, *extra: str) -> Run:
        """Measure one run of the tool (``extra`` appended to its command)."""
        return measure([*self.cmd, *extra], self.env, self.root, self.log)


def make_sides(tmp: Path, r2e: Path, base: str, feeds: list[int], port: int) -> tuple[Side, Side]:
    """Ours and rss2email on ``feeds``, each with fresh state in its own directory."""
    ours_dir, theirs_dir = tmp / "ours", tmp / "rss2email"
    ours_dir.mkdir(parents=True)
    theirs_dir.mkdir(parents=True)
    (ours_dir / "monitor.yaml").write_text(
        yaml.safe_dump(our_config(ours_dir / "state", base, feeds, port))
    )
    (theirs_dir / "rss2email.cfg").write_text(r2e_config(base, feeds, port))
    ours = Side(
        "ours",
        ours_dir,
        [sys.executable, "-m", "monitor", "run", "--once", "--config", "monitor.yaml"],
        dict(os.environ, PYTHONPATH=str(REPO)),
    )
    theirs_env = dict(
        os.environ,
        XDG_CONFIG_HOME=str(theirs_dir / "config"),
        XDG_DATA_HOME=str(theirs_dir / "data"),
    )
    theirs = Side(
        "rss2email",
        theirs_dir,
        [str(r2e), "-c", "rss2email.cfg", "-d", str(theirs_dir / "rss2email.json"), "run"],
        theirs_env,
    )
    return ours, theirs


def bench(
    feeds: int,
    cycles: int,
    once_rounds: int,
    progress,
    with_floors: bool = True,
    first_polls: int = 1,
    daemon_cycles: int = 3,
) -> dict:
    """Run the whole comparison on ``feeds`` feeds; return the result (see the docstring).

    ``first_polls`` > 1 measures that many first polls of each tool, each on fresh
    state, interleaved (the first one's state goes on to the steady cycles); the
    ratio is of the medians: a shared machine's noise moves one run by ±20 %.
    ``daemon_cycles`` > 0 then runs our daemon on the steady cycles' state for that many
    more cycles (bench/daemoncycle.py)."""
    r2e = ensure_rss2email()
    server, base = start_server(feeds)
    sink = Sink()
    result: dict = {
        "benchmark": "peers",
        "feeds": feeds,
        "rss2email_version": RSS2EMAIL_VERSION,
        "cpus": os.cpu_count(),
        "items_first_poll": sum(item_count(i) for i in range(feeds)),
        "ours": {"first_poll": [], "steady": [], "once_one_feed": []},
        "rss2email": {"first_poll": [], "steady": [], "once_one_feed": []},
        "alerts": [],
    }
    floor: dict[str, list[Run]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="peers-") as tmp_name:
            tmp = Path(tmp_name)
            all_feeds = list(range(feeds))
            sides = make_sides(tmp / "all", r2e, base, all_feeds, sink.port)
            set_cycle(base, 0)
            firsts = [sides] + [
                make_sides(tmp / f"first-{n}", r2e, base, all_feeds, sink.port)
                for n in range(1, first_polls)
            ]
            for n, fresh in enumerate(firsts, start=1):
                for side, extra in zip(fresh, ([], ["--no-send"]), strict=True):
                    progress(f"first poll {n}, {side.name}")
                    result[side.name]["first_poll"].append(side.run(*extra))
            result["ours"]["state_bytes"] = dir_bytes(sides[0].root / "state")
            result["rss2email"]["state_bytes"] = dir_bytes(sides[1].root / "rss2email.json")
            for side, rcpt in zip(sides, (OURS_TO, THEIRS_TO), strict=True):
                result[side.name]["first_poll_mail"] = sink.take(rcpt)
            if with_floors:
                progress("floors: first poll, memory")
                fdir, fenv = tmp / "floors", sides[0].env
                config = sides[0].root / "monitor.yaml"
                urls = [f"{base}/{i}.xml" for i in range(feeds)]
                etags = floors.write_etags(
                    floors.fetch_bodies(urls, fdir / "bodies"), fdir / "etags.json"
                )

                def fmeasure(cmd: list[str]) -> Run:
                    return measure(cmd, fenv, fdir, fdir / "log.txt")

                largest = max((fdir / "bodies").iterdir(), key=lambda p: p.stat().st_size)
                floor["first_poll_floor"] = [floors.first_poll_floor(fmeasure, fdir / "bodies")]
                floor["rss_floor_main"] = [floors.rss_floor_main(fmeasure, config)]
                floor["rss_floor_worker"] = [floors.rss_floor_worker(fmeasure, largest)]
            for cycle in range(1, cycles + 1):
                set_cycle(base, cycle)
                expected = sum(new_entries(i, cycle) for i in range(feeds))
                row = {"cycle": cycle, "new_entries": expected}
                for side, rcpt in zip(sides, (OURS_TO, THEIRS_TO), strict=True):
                    progress(f"steady cycle {cycle}, {side.name}")
                    result[side.name]["steady"].append(side.run())
                    messages, items = sink.take(rcpt)
                    row[side.name] = {"messages": messages, "items": items}
                result["alerts"].append(row)
                if with_floors and cycle == 1:  # the same server state as the tools' runs
                    progress("floors: steady cycle 1")
                    floor["steady_floor"] = [
                        floors.steady_floor(fmeasure, config, etags) for _ in range(cycles)
                    ]
            if daemon_cycles:
                progress(f"daemon, {daemon_cycles} cycles")
                sink.take(OURS_TO)
                result["ours"]["daemon"] = daemoncycle.measure_daemon(
                    sides[0],
                    base,
                    feeds,
                    cycles,
                    daemon_cycles,
                    sum(
                        new_entries(i, c)
                        for i in range(feeds)
                        for c in range(cycles + 1, cycles + daemon_cycles + 1)
                    ),
                    lambda: sink.count(OURS_TO),
                    tree_rss_mb,
                    _children,
                )
            one = make_sides(tmp / "one", r2e, base, [0], sink.port)
            for side, extra in zip(one, ([], ["--no-send"]), strict=True):
                side.run(*extra)  # prime, not measured
            if with_floors:
                one_etag, floor["once_floor"] = floors.etag_of(f"{base}/0.xml"), []
            for n in range(once_rounds):
                for side in one:
                    progress(f"one feed, round {n + 1}, {side.name}")
                    result[side.name]["once_one_feed"].append(side.run())
                if with_floors:
                    floor["once_floor"].append(
                        floors.once_floor(fmeasure, one[0].root / "monitor.yaml", one_etag)
                    )
    finally:
        sink.stop()
        server.terminate()
        server.join(10)
    for name in ("ours", "rss2email"):
        side = result[name]
        side["first_poll"] = summarize(side["first_poll"])
        side["steady"] = summarize(side["steady"])
        side["once_one_feed"] = summarize(side["once_one_feed"])
    result["floors"] = {name: summarize(runs) for name, runs in floor.items() if runs}
    result["ratios"] = ratios(result)
    return result


def table(result: dict) -> str:
    """The human report: one row per measurement, ours beside rss2email and the ratio."""
    ours, theirs, r = result["ours"], result["rss2email"], result["ratios"]
    rows = [
        ("steady cycle CPU (s)", "steady", "cpu_s", r["cpu_ratio"]),
        ("steady cycle wall (s)", "steady", "wall_s", r["wall_ratio"]),
        ("steady cycle peak RSS, tree (MiB)", "steady", "tree_rss_mb", None),
        ("steady cycle peak RSS, largest (MiB)", "steady", "largest_rss_mb", None),
        ("first poll CPU (s)", "first_poll", "cpu_s", r["first_poll_cpu_ratio"]),
        ("first poll wall (s)", "first_poll", "wall_s", r["first_poll_wall_ratio"]),
        ("first poll peak RSS, tree (MiB)", "first_poll", "tree_rss_mb", None),
        ("first poll peak RSS, largest (MiB)", "first_poll", "largest_rss_mb", None),
        ("one unchanged feed CPU (s)", "once_one_feed", "cpu_s", r["once_one_feed_cpu_ratio"]),
        ("one unchanged feed wall (s)", "once_one_feed", "wall_s", r["once_one_feed_wall_ratio"]),
        ("one unchanged feed peak RSS, tree (MiB)", "once_one_feed", "tree_rss_mb", None),
    ]
    out = [
        f"{result['feeds']} feeds, {result['items_first_poll']} items at the first poll, "
        f"rss2email {result['rss2email_version']}, {result['cpus']} CPUs "
        f"(medians; memory: maxima)",
        f"{'':42} {'ours':>10} {'rss2email':>10} {'ours/r2e':>9}",
    ]
    for label, phase, key, rat in rows:
        a, b = ours[phase][key], theirs[phase][key]
        out.append(f"{label:42} {a:>10} {b:>10} {rat if rat is not None else ratio(a, b):>9}")
    a, b = ours["state_bytes"], theirs["state_bytes"]
    out.append(f"{'state on disk after first poll (bytes)':42} {a:>10} {b:>10} {r['db_ratio']:>9}")
    out.append(
        f"{'  per item (bytes)':42} {r['db_bytes_per_item']:>10} "
        f"{r['rss2email_db_bytes_per_item']:>10}"
    )
    out.append(f"rss_ratio (peak tree RSS, first poll + steady): {r['rss_ratio']}")
    daemon = ours.get("daemon")
    if daemon:
        out.append(
            f"daemon, {daemon['cycles']} cycles, interval {daemon['interval']}: CPU a cycle "
            f"{daemon['cpu_s']} s (daemon_cpu_ratio {r['daemon_cpu_ratio']} against "
            f"rss2email's steady cycle), peak tree RSS {daemon['tree_rss_mb']} MiB "
            f"(daemon_rss_ratio {r['daemon_rss_ratio']}), {daemon['requests']} requests and "
            f"{daemon['messages']} messages a cycle, {daemon['items']} items mailed"
        )
    out.append(
        f"first poll: mailed items ours {ours['first_poll_mail'][1]} in "
        f"{ours['first_poll_mail'][0]} messages, rss2email {theirs['first_poll_mail'][1]} in "
        f"{theirs['first_poll_mail'][0]} (both record the backlog as seen)"
    )
    for row in result["alerts"]:
        out.append(
            f"cycle {row['cycle']}: {row['new_entries']} new entries; mailed items "
            f"ours {row['ours']['items']} in {row['ours']['messages']} messages, "
            f"rss2email {row['rss2email']['items']} in {row['rss2email']['messages']}"
        )
    return "\n".join(out + floors.floor_rows(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="200 feeds")
    size.add_argument("--large", action="store_true", help="2,000 feeds")
    size.add_argument("--feeds", type=int, help="this many feeds (default 500)")
    parser.add_argument("--cycles", type=int, default=3, help="steady cycles measured")
    parser.add_argument("--once-rounds", type=int, default=5, help="one-feed runs measured")
    parser.add_argument(
        "--first-polls", type=int, default=1, help="first polls measured (fresh state each)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-floors", action="store_true", help="skip the library floors")
    parser.add_argument(
        "--daemon-cycles",
        type=int,
        default=3,
        help="cycles measured in our daemon after the one-shot ones (0 skips)",
    )
    args = parser.parse_args()
    feeds = args.feeds or (200 if args.quick else 2000 if args.large else 500)

    def progress(message: str) -> None:
        print(f"peers: {message}", file=sys.stderr, flush=True)

    result = bench(
        feeds,
        args.cycles,
        args.once_rounds,
        progress,
        not args.no_floors,
        args.first_polls,
        args.daemon_cycles,
    )
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
