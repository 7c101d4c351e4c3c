"""A slow destination never stops polling; the watchdog notices a stall (issue #14 point 6).

The daemon runs in a subprocess against real servers on 127.0.0.1: feeds that gain
an item at every request, a healthy webhook, and destinations that never finish (an
SMTP server trickling a greeting that never ends, a webhook trickling a status line,
a webhook streaming an endless 200 body). Before this change the poll jobs awaited
every channel's delivery while holding a poll slot, so the stuck SMTP conversation
stopped every feed and the endless body was read whole.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.conftest import seed_feed, write_config
from tests.integration.daemon_helpers import DaemonProcess, NotifySocket
from tests.integration.slow_servers import RawServer, endless_body, silent, trickle
from tests.servers import HttpServer

FEEDS = ("one", "two", "three")
WAIT = 90.0  # seconds a test waits for something before calling it stuck


def changing_feed(name: str) -> Callable[[], Iterator[bytes]]:
    """An RSS document with one more item (title ``alpha …``) at every request."""
    counter = itertools.count()

    def chunks() -> Iterator[bytes]:
        n = next(counter)
        items = "".join(
            f"<item><title>alpha {name} {k} {uuid.uuid4().hex}</title>"
            f"<link>http://example.org/{name}/{k}</link><guid>{name}-{k}</guid></item>"
            for k in range(max(0, n - 5), n + 1)
        )
        yield (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
            f"<link>http://example.org/</link><description>d</description>{items}"
            "</channel></rss>"
        ).encode()

    return chunks


def wait_until(condition: Callable[[], bool], what: str, daemon: DaemonProcess) -> None:
    """Wait (up to WAIT seconds) for ``condition``; fail with the daemon's log."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline or daemon.proc.poll() is not None:
            raise AssertionError(f"{what}: not within {WAIT}s; log:\n{daemon.log[-6000:]}")
        time.sleep(0.2)


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_stuck_destinations_hold_only_themselves(tmp_path: Path, http_server: HttpServer) -> None:
    for name in FEEDS:
        http_server.route_stream(f"/{name}.xml", changing_feed(name))
    with (
        RawServer(trickle(0.2)) as smtp,
        RawServer(trickle(0.2, b"H")) as stuck,
        RawServer(endless_body()) as endless,
    ):
        config = write_config(
            tmp_path / "monitor.yaml",
            {
                "state_dir": str(tmp_path / "state"),
                "allow_private_networks": True,
                "defaults": {"interval": "2s", "backfill": "all"},
                "feeds": [{"name": n, "url": http_server.url(f"/{n}.xml")} for n in FEEDS],
                "rules": [{"name": "alpha", "query": "alpha"}],
                "channels": {
                    "good": {
                        "type": "webhook",
                        "url": http_server.url("/hook"),
                        "group_wait": "0s",
                    },
                    "mail": {
                        "type": "email",
                        "smtp": {"host": "127.0.0.1", "port": smtp.port},
                        "from": "monitor@example.org",
                        "to": ["desk@example.org"],
                        "timeout": "2s",
                        "group_wait": "0s",
                    },
                    "stuck": {
                        "type": "webhook",
                        "url": stuck.url("/h"),
                        "timeout": "2s",
                        "group_wait": "0s",
                    },
                    "endless": {
                        "type": "webhook",
                        "url": endless.url("/h"),
                        "timeout": "60s",
                        "group_wait": "0s",
                    },
                },
            },
        )
        daemon = DaemonProcess(config, tmp_path)
        try:
            daemon.wait_for_log("started:")
            # (a) every feed keeps being polled and the healthy channel keeps delivering
            # while the SMTP server and one webhook never answer
            wait_until(
                lambda: all(len(http_server.requests_to(f"/{n}.xml")) >= 6 for n in FEEDS),
                "six polls of every feed",
                daemon,
            )
            wait_until(lambda: len(http_server.requests_to("/hook")) >= 3, "3 posts", daemon)
            daemon.wait_for_log(f"no answer from 127.0.0.1:{smtp.port} within 2s")
            daemon.wait_for_log(f"no answer from 127.0.0.1:{stuck.port} within 2s")
            # (b) the endless answer is cut at 64 KiB, not read into memory
            daemon.wait_for_log(f"127.0.0.1:{endless.port} (answer cut after 65536 bytes)")
            assert rss_mb(daemon.proc.pid) < 300  # a safety bound, far above the ~100 MB used
            assert smtp.connections >= 1 and stuck.connections >= 1
        finally:
            daemon.stop()
            daemon.kill()
    assert "Traceback" not in daemon.log


def test_a_poll_stall_stops_the_watchdog_pings(tmp_path: Path, http_server: HttpServer) -> None:
    """One poll slot, held by a feed that never answers (its timeout 10 minutes): the
    other feed waits, no poll finishes, and after a minute the health check says so
    in STATUS and WATCHDOG=1 stops (systemd would restart the daemon)."""
    http_server.route("/ok.xml", seed_feed("feed-full.xml", http_server.base_url))
    address = f"@news-monitor-stall-{os.getpid()}-{id(tmp_path)}"
    sock = NotifySocket(address)
    with RawServer(silent) as hang:
        config = write_config(
            tmp_path / "monitor.yaml",
            {
                "state_dir": str(tmp_path / "state"),
                "allow_private_networks": True,
                "ingest": {"max_parallel_fetches": 1},
                "defaults": {"interval": "2s"},
                "feeds": [
                    {"name": "hang", "url": hang.url("/feed.xml"), "timeout": "10m"},
                    {"name": "ok", "url": http_server.url("/ok.xml")},
                ],
                "channels": {"console": {"type": "console"}},
            },
        )
        env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "3000000"}
        daemon = DaemonProcess(config, tmp_path, env)
        try:
            sock.wait_for("WATCHDOG=1")  # healthy at first
            unhealthy = r"STATUS=.*UNHEALTHY: no poll finished in \d+s \(allowed 60s\).*"
            sock.wait_for_match(unhealthy, timeout=WAIT)
            first = len(sock.lines())
            sock.wait_for_match(r"STATUS=.*UNHEALTHY: no poll finished in (6[3-9]|[7-9]\d)s.*")
            after = sock.lines()[first:]
            log = daemon.wait_for_log("unhealthy, no watchdog ping: no poll finished")
        finally:
            sock.close()
            hang.stop.set()  # the hanging poll ends, so the daemon stops at once
            daemon.stop()
            daemon.kill()
    assert "WATCHDOG=1" not in after, after
    assert re.search(r"feeds waiting: [12], e.g. '(hang|ok)'", log), log
