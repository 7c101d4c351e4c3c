"""Soak test (not in CI): the daemon for N minutes against 500 local feeds, some hostile.

A local HTTP server on 127.0.0.1 serves the feeds (new items appear over time, with
ETags) plus hostile ones: slow, hanging past the deadline, 500s, 404s, oversized,
malformed XML, redirect loops, and a webhook receiver. The daemon runs in a
subprocess with short poll intervals; every 10 s we sample its RSS (and its parse
workers'), open file descriptors and the WAL size, then report growth after warm-up.

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
        self._send(200, b"ok")

    def do_GET(self) -> None:  # noqa: N802
        kind, _, n = self.path.strip("/").partition("/")
        body = feed_xml(int(n or 0), time.time())
        if kind == "feed":
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


def make_config(state: Path, port: int, feeds: int, interval: str, metrics_port: int) -> dict:
    """500 feeds (every 10th hostile), two rules, a webhook digest every minute."""
    entries = []
    for n in range(feeds):
        kind = HOSTILE[(n // 10) % len(HOSTILE)] if n % 10 == 9 else "feed"
        entries.append({"name": f"{kind}-{n}", "url": f"http://127.0.0.1:{port}/{kind}/{n}"})
    return {
        "state_dir": str(state),
        "allow_private_networks": True,
        "metrics": f"127.0.0.1:{metrics_port}",
        "defaults": {"interval": interval, "timeout": "3s", "max_bytes": 1048576},
        "feeds": entries,
        "rules": [
            {"name": "pompeo", "query": "Pompeo AND Pyongyang"},
            {"name": "end-of-war", "query": "end-of-war declaration"},
        ],
        "channels": {
            "hook": {
                "type": "webhook",
                "url": f"http://127.0.0.1:{port}/hook",
                "schedule": "every: 1m",
            }
        },
    }


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


def main() -> int:
    """Run the soak and print the samples and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--interval", default="15s", help="poll interval of every feed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    metrics_port = _free_port()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        state = Path(tmp) / "state"
        config = Path(tmp) / "monitor.yaml"
        config.write_text(
            yaml.safe_dump(
                make_config(state, server.server_port, args.feeds, args.interval, metrics_port)
            )
        )
        log = open(Path(tmp) / "daemon.log", "w")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(REPO))
        daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
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
        lines = (Path(tmp) / "daemon.log").read_text().splitlines()
    levels = {lvl: sum(f" {lvl} " in line for line in lines) for lvl in ("WARNING", "ERROR")}
    levels["unhealthy"] = sum("unhealthy" in line for line in lines)
    levels["traceback"] = sum("Traceback" in line for line in lines)
    warmup = min(300, int(args.minutes * 60 * 0.3))
    result = {
        "minutes": args.minutes,
        "feeds": args.feeds,
        "interval": args.interval,
        "exit_code": code,
        "log": levels,
        "summary": summarize(samples, warmup),
        "samples": samples,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result["summary"], indent=2))
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
