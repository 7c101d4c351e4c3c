"""Soak test (not in CI): the daemon for N minutes against 500 local feeds and seven
channels, some of each hostile.

A local HTTP server on 127.0.0.1 serves the feeds (new items appear over time, with
ETags) plus hostile ones: slow, hanging past the deadline, 500s, 404s, oversized,
malformed XML, redirect loops. It also receives the webhooks: two healthy channels (a
digest every minute and an immediate one) beside hostile destinations that answer
slowly, forever (an endless body), 413 or 429; and an SMTP server that accepts and
never answers. The daemon runs in a subprocess with short poll intervals; every 10 s
we sample its RSS (and its parse workers'), open file descriptors and the WAL size.

The report says, after warm-up: RSS growth, whether healthy feeds were polled on
time (the gaps between two polls of one feed, against the interval plus its jitter),
and whether healthy channels kept delivering (the gaps between two deliveries).

    python bench/soak.py --minutes 30           # a table at the end
    python bench/soak.py --minutes 5 --json     # the samples and summary as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
HOSTILE = ("slow", "hang", "error", "gone", "huge", "broken", "loop")
NEW_ITEM_SECONDS = 120  # each feed gains an item every 2 minutes
HOOKS = ("ok", "urgent", "slow", "endless", "big", "busy")  # webhook destinations
GETS: dict[int, list[float]] = {}  # healthy feed number -> monotonic times of its polls
POSTS: dict[str, list[float]] = {}  # webhook destination -> monotonic times of its posts


def feed_xml(n: int, now: float) -> bytes:
    """Feed ``n`` as RSS: 20 items, the newest appearing every NEW_ITEM_SECONDS."""
    newest = int(now // NEW_ITEM_SECONDS)
    items = "".join(
        f"<item><title>Feed {n} story {k}: Pompeo visits Pyongyang again</title>"
        f"<link>http://127.0.0.1/story/{n}/{k}</link><guid>f{n}-{k}</guid>"
        f"<description>Talks on the end-of-war declaration, round {k} in feed {n}."
        f"</description></item>"
        for k in range(newest, newest - 20, -1)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>{items}</channel></rss>'.encode()  # noqa: E501


class Handler(BaseHTTPRequestHandler):
    """Normal feeds at /feed/N, hostile ones at /KIND/N, the webhook at /hook."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        hook = self.path.rsplit("/", 1)[-1]
        POSTS.setdefault(hook, []).append(time.monotonic())
        if hook == "slow":
            time.sleep(60)  # far past the channel's 5 s timeout
        elif hook == "endless":
            return self._endless()
        elif hook == "big":
            return self._send(413, b"payload too large")
        elif hook == "busy":
            return self._send(429, b"slow down", {"Retry-After": "30"})
        self._send(200, b"ok")

    def _endless(self) -> None:
        """200 with a chunked body that never ends (until the client hangs up)."""
        try:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802
        kind, _, n = self.path.strip("/").partition("/")
        body = feed_xml(int(n or 0), time.time())
        if kind == "feed":
            GETS.setdefault(int(n), []).append(time.monotonic())
            etag = f'"{hash(body)}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"")
            return self._send(200, body, {"ETag": etag})
        if kind == "slow":
            time.sleep(2)
            return self._send(200, body)
        if kind == "hang":
            time.sleep(8)  # past the 3 s deadline
            return self._send(200, body)
        if kind in ("error", "gone"):
            return self._send(500 if kind == "error" else 404, b"nope")
        if kind == "huge":
            return self._send(200, b"<rss>" + b"x" * (3 * 1024 * 1024))
        if kind == "broken":
            return self._send(200, body[: len(body) // 2] + b"<<&&")
        return self._send(302, b"", {"Location": f"/loop/{int(n or 0) + 1}"})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class QuietServer(ThreadingHTTPServer):
    """A client hanging up (the body cap, the deadline) is expected here: no traceback."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore errors of single requests."""


def make_config(
    state: Path,
    port: int,
    feeds: int,
    interval: str,
    metrics_port: int,
    smtp_port: int,
    dedup: dict[str, str],
    hostile_channels: bool = True,
    max_age: str | None = None,
) -> dict:
    """500 feeds (every 10th hostile), three rules, seven channels (five hostile).

    ``dedup``: the ``dedup:`` section (a short window and retention show where memory
    levels off within the soak; the defaults hold 3 and 30 days of items).
    ``hostile_channels`` False keeps only the two healthy webhooks (to tell what the
    stuck destinations' backlogs cost from the rest). ``max_age`` (every channel's) bounds
    how long a stuck destination's messages wait before they become dead letters, so its
    backlog levels off within the soak (the product's default is 24h).
    """
    entries = []
    for n in range(feeds):
        kind = HOSTILE[(n // 10) % len(HOSTILE)] if n % 10 == 9 else "feed"
        entries.append({"name": f"{kind}-{n}", "url": f"http://127.0.0.1:{port}/{kind}/{n}"})
    channels: dict[str, dict] = {
        f"hook-{hook}": {
            "type": "webhook",
            "url": f"http://127.0.0.1:{port}/hook/{hook}",
            "schedule": "immediate" if hook == "urgent" else "every: 1m",
            "timeout": "5s",
        }
        for hook in (HOOKS if hostile_channels else ("ok", "urgent"))
    }
    if hostile_channels:
        channels["mail-hang"] = {
            "type": "email",
            "schedule": "every: 1m",
            "timeout": "5s",
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "starttls": False},
            "from": "soak@example.org",
            "to": ["desk@example.org"],
        }
    if max_age:
        for channel in channels.values():
            channel["max_age"] = max_age
    everywhere = sorted(set(channels) - {"hook-urgent"})
    return {
        "state_dir": str(state),
        "allow_private_networks": True,
        "metrics": f"127.0.0.1:{metrics_port}",
        "defaults": {"interval": interval, "timeout": "3s", "max_bytes": 1048576},
        "feeds": entries,
        "dedup": dedup,
        "rules": [
            {"name": "pompeo", "query": "Pompeo AND Pyongyang", "notify": everywhere},
            {"name": "end-of-war", "query": "end-of-war declaration", "notify": everywhere},
            {
                "name": "urgent",
                "query": "Pompeo AND round",
                "urgent": True,
                "notify": ["hook-urgent"],
            },
        ],
        "channels": channels,
    }


def hanging_smtp() -> int:
    """An SMTP server that accepts connections and never says a word; returns its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            held.append(conn)  # never answered, never closed

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def gaps(times: list[float], since: float) -> list[float]:
    """Seconds between consecutive events at or after ``since``."""
    after = [t for t in times if t >= since]
    return [b - a for a, b in zip(after, after[1:], strict=False)]


def timeliness(started: float, warmup: int, interval_s: float) -> dict:
    """Healthy feeds polled on time, healthy channels delivering, hostile ones tried.

    A poll is late when it comes more than the interval plus its jitter (10%, at most
    60 s) plus 15 s of slack after the one before (jobs.feed_trigger).
    """
    since = started + warmup
    feed_gaps = sorted(g for times in GETS.values() for g in gaps(times, since))
    allowed = interval_s + min(interval_s * 0.1, 60) + 15
    late = [g for g in feed_gaps if g > allowed]
    report: dict = {
        "healthy_feeds_polled": sum(1 for t in GETS.values() if any(x >= since for x in t)),
        "healthy_feeds": len(GETS),
        "poll_gap_p50_s": _pct(feed_gaps, 0.5),
        "poll_gap_p99_s": _pct(feed_gaps, 0.99),
        "poll_gap_max_s": round(feed_gaps[-1], 1) if feed_gaps else None,
        "late_polls": len(late),
        "polls_after_warmup": len(feed_gaps),
    }
    for hook in HOOKS:
        times = POSTS.get(hook, [])
        hook_gaps = gaps(times, since)
        report[f"posts_{hook}"] = sum(1 for t in times if t >= since)
        report[f"post_gap_max_{hook}_s"] = round(max(hook_gaps), 1) if hook_gaps else None
    return report


def _pct(values: list[float], q: float) -> float | None:
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) if values else None


def sample(pid: int, state: Path, started: float, metrics_port: int) -> dict:
    """RSS of the daemon and its children (MiB), its open fds, the WAL size (KiB)."""
    children = _children(pid)
    wal = state / "monitor.db-wal"
    return {
        "t": round(time.monotonic() - started),
        "rss_mib": round(_rss(pid) / 1024, 1),
        "children_rss_mib": round(sum(_rss(c) for c in children) / 1024, 1),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "wal_kib": round(wal.stat().st_size / 1024) if wal.exists() else 0,
        "db_kib": round((state / "monitor.db").stat().st_size / 1024),
        "polls": _polls(metrics_port),
    }


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in children.read_text().split()]
        except OSError:
            continue
    return found


def _polls(port: int) -> dict[str, float]:
    """Poll counts by result, scraped from the daemon's metrics endpoint."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    found = re.findall(r'^news_monitor_polls_total\{result="(\w+)"\} (\S+)$', text, re.M)
    return {result: float(count) for result, count in found}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summarize(samples: list[dict], warmup: int) -> dict:
    """Growth after the warm-up: RSS %, fd range, WAL max."""
    after = [s for s in samples if s["t"] >= warmup] or samples[-1:]
    base = after[0]
    return {
        "warmup_s": warmup,
        "rss_start_mib": base["rss_mib"],
        "rss_end_mib": after[-1]["rss_mib"],
        "rss_max_mib": max(s["rss_mib"] for s in after),
        "rss_growth_pct": round(100 * (after[-1]["rss_mib"] / base["rss_mib"] - 1), 1),
        "fds_min": min(s["fds"] for s in after),
        "fds_max": max(s["fds"] for s in after),
        "wal_max_kib": max(s["wal_kib"] for s in samples),
        "db_end_kib": samples[-1]["db_kib"],
        "polls": samples[-1].get("polls"),
    }


def _seconds(text: str) -> float:
    """``15s`` / ``2m`` / ``1h`` in seconds."""
    return float(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


def main() -> int:
    """Run the soak and print the samples and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--interval", default="15s", help="poll interval of every feed")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--log", type=Path, help="keep the daemon's log here")
    parser.add_argument("--window", help="dedup.window, e.g. 10m (default: the product's)")
    parser.add_argument("--retention", help="dedup.retention, e.g. 20m")
    parser.add_argument(
        "--healthy-channels-only", action="store_true", help="no hostile destinations"
    )
    parser.add_argument("--max-age", help="every channel's max_age, e.g. 5m (default: 24h)")
    parser.add_argument(
        "--warmup", type=int, help="seconds before RSS growth is measured (default: 300)"
    )
    parser.add_argument(
        "--heap",
        action="store_true",
        help="sample the daemon's Python heap and glibc's account (bench/heapdaemon.py)",
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="with --heap: what grew, by line"
    )
    args = parser.parse_args()
    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    metrics_port = _free_port()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        state = Path(tmp) / "state"
        config = Path(tmp) / "monitor.yaml"
        config.write_text(
            yaml.safe_dump(
                make_config(
                    state,
                    server.server_port,
                    args.feeds,
                    args.interval,
                    metrics_port,
                    hanging_smtp(),
                    {
                        k: v
                        for k, v in (("window", args.window), ("retention", args.retention))
                        if v
                    },
                    hostile_channels=not args.healthy_channels_only,
                    max_age=args.max_age,
                )
            )
        )
        log = open(Path(tmp) / "daemon.log", "w")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(REPO))
        heap_log = Path(tmp) / "heap.jsonl"
        start = ["-m", "monitor"]
        if args.heap:
            start = [str(REPO / "bench" / "heapdaemon.py")]
            env.update(SOAK_HEAP_LOG=str(heap_log), SOAK_HEAP_WARMUP=str(args.warmup or 300))
            env.update(SOAK_TRACEMALLOC="1" if args.tracemalloc else "0")
        daemon = subprocess.Popen(
            [
                sys.executable,
                *start,
                "run",
                "--config",
                str(config),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
        started = time.monotonic()
        samples: list[dict] = []
        try:
            while time.monotonic() - started < args.minutes * 60 and daemon.poll() is None:
                time.sleep(10)
                if (state / "monitor.db").exists():
                    samples.append(sample(daemon.pid, state, started, metrics_port))
                    if not args.json:
                        print(json.dumps(samples[-1]), flush=True)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=60)
            log.close()
            server.shutdown()
        text = (Path(tmp) / "daemon.log").read_text()
        if args.log:
            args.log.write_text(text)
        lines = text.splitlines()
        heap = [json.loads(x) for x in heap_log.read_text().splitlines()] if args.heap else []
    levels = {lvl: sum(f" {lvl} " in line for line in lines) for lvl in ("WARNING", "ERROR")}
    levels["unhealthy"] = sum("unhealthy" in line for line in lines)
    levels["traceback"] = sum("Traceback" in line for line in lines)
    warmup = args.warmup if args.warmup is not None else min(300, int(args.minutes * 60 * 0.3))
    result = {
        "minutes": args.minutes,
        "feeds": args.feeds,
        "interval": args.interval,
        "dedup": {"window": args.window, "retention": args.retention},
        "max_age": args.max_age,
        "exit_code": code,
        "log": levels,
        "summary": summarize(samples, warmup),
        "timeliness": timeliness(started, warmup, _seconds(args.interval)),
        "samples": samples,
        "heap": heap,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps({**result["summary"], **result["timeliness"]}, indent=2))
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
