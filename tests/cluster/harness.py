"""What the cluster tests share: a feed server that can stall a path, the config, the
daemons (``news-monitor run`` in subprocesses, each with its own state_dir) and the
database as they left it.

Feeds, the webhook receiver and PostgreSQL are real (tests/servers.py,
tests/pgserver.py); nothing of ours is replaced.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import write_config
from tests.integration.daemon_helpers import DaemonProcess
from tests.servers import HttpServer, RecordedRequest

STALL_MAX = 300.0  # seconds a stalled request waits for release at most
START = time.time()


class FeedServer(HttpServer):
    """Feeds and the webhook receiver; remembers when (monotonic) each request came,
    and serves a *stalled* path only once the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, list[float]] = defaultdict(list)
        self._gates: dict[str, threading.Event] = {}
        self._bodies: dict[str, bytes] = {}

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.times[request.path.split("?", 1)[0]].append(time.monotonic())
        super()._record(request)

    def stall(self, path: str, body: str) -> None:
        """Serve ``body`` at ``path`` from now on, each request held until :meth:`release`
        (a request already held gets ``body`` too when released)."""
        with self._changed:
            self._gates[path] = threading.Event()
            self._bodies[path] = body.encode()

        def chunks() -> Iterator[bytes]:
            with self._changed:
                gate = self._gates[path]
            gate.wait(STALL_MAX)
            with self._changed:
                yield self._bodies[path]

        self.route_stream(path, chunks)

    def release(self, *paths: str) -> None:
        """Let the held requests of ``paths`` (and later ones) have their body."""
        with self._changed:
            for path in paths:
                self._gates[path].set()

    def count(self, path: str) -> int:
        """How many requests ``path`` had so far."""
        with self._changed:
            return len(self.times[path])

    def hook_copies(self) -> dict[str, list[str]]:
        """guid -> the webhook-id of every POST to /hook that carried it."""
        copies: dict[str, list[str]] = defaultdict(list)
        for request in self.requests_to("/hook"):
            for item in json.loads(request.body)["items"]:
                copies[item["guid"]].append(request.headers["webhook-id"])
        return copies


def rss(items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 document of ``(guid, title, description)`` items, the first newest;
    each links to https://<guid>.example/ (so no two items share a link)."""
    when = format_datetime(datetime.fromtimestamp(START, UTC))
    body = "".join(
        f"<item><title>{title}</title><link>https://{guid}.example/</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{when}</pubDate>'
        f"<description>{text}</description></item>"
        for guid, title, text in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    )


def config(
    directory: Path,
    pg_url: str,
    server: FeedServer,
    feeds: list[dict[str, Any]],
    *,
    lease: str = "10s",
    slots: int = 16,
) -> Path:
    """One config for every instance (no state_dir: each daemon gets its own by
    ``$NEWS_MONITOR_STATE_DIR``): the feeds, one rule, one webhook channel."""
    return write_config(
        directory / "monitor.yaml",
        {
            "allow_private_networks": True,
            "log_level": "debug",
            "store": {"url": pg_url, "lease": lease},
            "ingest": {"max_parallel_fetches": slots},
            "defaults": {"timeout": "120s", "backfill": "all"},
            "feeds": feeds,
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {
                "hook": {"type": "webhook", "url": server.url("/hook"), "group_wait": "0s"}
            },
        },
    )


@contextmanager
def daemons(path: Path, count: int) -> Iterator[list[DaemonProcess]]:
    """``count`` daemons on the config at ``path``, each with its own state_dir, started
    one after the other (each has logged "started"); all stopped (killed) afterwards."""
    started: list[DaemonProcess] = []
    try:
        for n in range(count):
            started.append(start(path, path.parent / f"instance{n}"))
        yield started
    finally:
        for daemon in started:
            daemon.kill()


def start(path: Path, directory: Path) -> DaemonProcess:
    """One daemon on the config at ``path`` whose state_dir and log are in ``directory``;
    returned once it logged "started"."""
    directory.mkdir(exist_ok=True)
    env = {"NEWS_MONITOR_STATE_DIR": str(directory / "state")}
    daemon = DaemonProcess(path, directory, env)
    daemon.wait_for_log("monitor.daemon: started")
    return daemon


def wait_until(
    condition: Callable[[], Any],
    what: str,
    timeout: float = 90.0,
    logs: list[DaemonProcess] = (),  # type: ignore[assignment]
) -> Any:
    """Poll ``condition`` every 0.1 s until it is truthy (its value), else fail showing
    the end of each of ``logs``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    tails = "".join(f"\n--- {d.log_path}\n{d.log[-4000:]}" for d in logs)
    raise AssertionError(f"timed out waiting for {what}{tails}")


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the test database, read as the daemons left it."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def owner_pid(url: str, feed_key: str) -> int | None:
    """The pid of the instance holding ``feed_key``'s lease (owner ids are host:pid:x)."""
    rows = query(url, "SELECT lease_owner FROM feeds WHERE url = %s", (feed_key,))
    return _pid(rows)


def channel_holder(url: str, channel: str = "hook") -> int | None:
    """The pid of the instance holding ``channel``'s lease, if any."""
    return _pid(query(url, "SELECT owner FROM channel_leases WHERE channel = %s", (channel,)))


def _pid(rows: list[tuple[Any, ...]]) -> int | None:
    """The pid in the owner id (host:pid:x) of the first row, None without one."""
    if not rows or rows[0][0] is None:
        return None
    return int(rows[0][0].split(":")[1])
