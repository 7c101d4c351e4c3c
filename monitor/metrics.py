"""Prometheus metrics: the objects, one-line recording helpers, and the endpoint.

The pipeline records through the small functions below (one call per event); the
daemon refreshes the gauges read from the store (pending/failed alerts) and serves
``/metrics`` when the config sets ``metrics: HOST:PORT``. Labels are feed names, rule
names, channel names and error kinds; a feed without a name is labelled by its URL as
:func:`monitor.redact.redact_url` shows it (no userinfo, query or fragment), so no
secret can leak here.

Metrics exist only in a process that serves them: until :func:`serve`, every recording
does nothing and prometheus_client is not imported (``run --once``, a daemon without
``metrics:``: nobody could read them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.errors import FetchError

log = logging.getLogger("monitor.metrics")
_P = "news_monitor_"
_live: dict[str, Any] = {}  # the metrics by name, once :func:`serve` made them
NAMES = frozenset(
    {
        "POLLS",
        "FETCH_ERRORS",
        "FETCH_BYTES",
        "PARSE_SECONDS",
        "ITEMS",
        "MATCHES",
        "MESSAGES",
        "ALERTS_SENT",
        "ALERTS",
        "DELIVERY_SECONDS",
        "LAST_SUCCESS",
        "HEALTHY",
        "RELOAD_FAILED",
        "CONFIG_LOADED",
        "ALERT_COLLISIONS",
        "LEASES",
        "CLAIMS",
        "FENCED",
        "LOCK_WAIT",
    }
)


class _Unrecorded:
    """A metric while none is served: every call does nothing."""

    def labels(self, *values: str) -> _Unrecorded:
        """Itself: no labelled child is kept."""
        return self

    def inc(self, amount: float = 1) -> None:
        """Nothing."""

    def set(self, value: float) -> None:
        """Nothing."""

    def observe(self, value: float) -> None:
        """Nothing."""


_OFF = _Unrecorded()


def __getattr__(name: str) -> Any:
    """``metrics.HEALTHY`` and the other metrics by name: the prometheus_client metric
    once :func:`serve` made them, else one that records nothing."""
    if name in NAMES:
        return _m(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _m(name: str) -> Any:
    return _live.get(name, _OFF)


def _create() -> dict[str, Any]:
    """Every metric, in prometheus_client's default registry (made once, by :func:`serve`)."""
    from prometheus_client import Counter, Gauge, Histogram

    made = {
        "POLLS": Counter(
            _P + "polls_total", "Feed polls, by result (ok, not_modified, error)", ["result"]
        ),
        "FETCH_ERRORS": Counter(_P + "fetch_errors_total", "Failed polls, by error kind", ["kind"]),
        "FETCH_BYTES": Counter(
            _P + "fetched_bytes_total", "Feed bytes received (after decompression)"
        ),
        "PARSE_SECONDS": Histogram(
            _P + "parse_seconds",
            "Time to parse and normalize one feed body",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
        ),
        "ITEMS": Counter(
            _P + "items_total", "Items read from feeds, by kind (seen, new)", ["kind"]
        ),
        "MATCHES": Counter(_P + "matches_total", "Rule matches, by rule", ["rule"]),
        "MESSAGES": Counter(
            _P + "messages_total",
            "Delivery attempts, by channel and result (sent, retry, failed)",
            ["channel", "result"],
        ),
        "ALERTS_SENT": Counter(
            _P + "alerts_sent_total", "Stories delivered, by channel", ["channel"]
        ),
        "ALERTS": Gauge(
            _P + "alerts", "Alerts in the outbox, by channel and status", ["channel", "status"]
        ),
        "DELIVERY_SECONDS": Histogram(
            _P + "delivery_seconds",
            "Time to deliver one message (send and acceptance)",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        ),
        "LAST_SUCCESS": Gauge(
            _P + "last_successful_poll_timestamp_seconds", "When each feed last answered", ["feed"]
        ),
        "HEALTHY": Gauge(_P + "healthy", "1 while the scheduler and the database work"),
        "RELOAD_FAILED": Gauge(
            _P + "config_reload_failed",
            "1 while the last config reload failed"
            " (the daemon runs on the config it loaded before)",
        ),
        "CONFIG_LOADED": Gauge(
            _P + "config_last_reload_success_timestamp_seconds",
            "When the running config was loaded (start or a reload that succeeded), Unix time",
        ),
        "ALERT_COLLISIONS": Counter(
            _P + "alert_collisions_total",
            "Alerts not queued: another story's outbox row held their (channel, story, rule)",
            ["channel"],
        ),
        "LEASES": Gauge(
            _P + "leases_held",
            "Leases this instance holds (several instances), by kind (feed, channel)",
            ["kind"],
        ),
        "CLAIMS": Counter(_P + "claims_total", "Feeds claimed for a poll (several instances)"),
        "FENCED": Counter(
            _P + "fenced_commits_total",
            "Polls whose commit was refused: another instance took the feed (should stay 0)",
        ),
        "LOCK_WAIT": Counter(
            _P + "story_lock_wait_seconds_total",
            "Seconds spent waiting for the cluster's story lock (PostgreSQL)",
        ),
    }
    assert set(made) == NAMES
    return made


def now() -> float:
    """A start mark for the duration helpers below."""
    return time.perf_counter()


def poll_failed(exc: BaseException) -> None:
    """A poll failed with ``exc`` (counted by its kind: FetchError.kind, parse, internal)."""
    _m("POLLS").labels("error").inc()
    kind = exc.kind if isinstance(exc, FetchError) else type(exc).__name__.lower()
    _m("FETCH_ERRORS").labels(kind.replace("parseerror", "parse")).inc()


def poll_ok(feed: str, body: bytes | None, items: int = 0, new: int = 0) -> None:
    """A poll that got an answer: ``body`` None means 304 Not Modified."""
    _m("POLLS").labels("ok" if body is not None else "not_modified").inc()
    _m("FETCH_BYTES").inc(len(body or b""))
    _m("ITEMS").labels("seen").inc(items)
    _m("ITEMS").labels("new").inc(new)
    _m("LAST_SUCCESS").labels(feed).set(time.time())


def parsed(started: float) -> None:
    """Parsing (and normalizing) took since ``started`` (from :func:`now`)."""
    _m("PARSE_SECONDS").observe(time.perf_counter() - started)


def matched(matches: Iterable[Any]) -> None:
    """Count each match (anything with a ``rule`` attribute) under its rule."""
    for match in matches:
        _m("MATCHES").labels(match.rule).inc()


def sent(channel: str, stories: int, started: float) -> None:
    """A message of ``stories`` stories was accepted after ``started`` (from :func:`now`)."""
    _m("MESSAGES").labels(channel, "sent").inc()
    _m("ALERTS_SENT").labels(channel).inc(stories)
    _m("DELIVERY_SECONDS").labels(channel).observe(time.perf_counter() - started)


def config_loaded() -> None:
    """The daemon now runs on a config it just loaded (at start or by a reload)."""
    _m("RELOAD_FAILED").set(0)
    _m("CONFIG_LOADED").set(time.time())


def reload_failed() -> None:
    """A reload failed; the running config stays (until a reload succeeds)."""
    _m("RELOAD_FAILED").set(1)


def alert_collision(channel: str) -> None:
    """An alert met an outbox row of another story (see ``Items.queue_alerts``)."""
    _m("ALERT_COLLISIONS").labels(channel).inc()


def leases_held(kind: str, count: int) -> None:
    """This instance now holds ``count`` leases of ``kind`` ("feed": polls running,
    "channel": channels it delivers), several instances on one database."""
    _m("LEASES").labels(kind).set(count)


def claimed(count: int) -> None:
    """``count`` feeds were claimed for a poll."""
    _m("CLAIMS").inc(count)


def fenced() -> None:
    """A poll's commit was refused: its lease passed to another instance (LeaseLost)."""
    _m("FENCED").inc()


def lock_waited(seconds: float) -> None:
    """Waited ``seconds`` for the story lock before assigning a poll's items to stories."""
    _m("LOCK_WAIT").inc(seconds)


def delivery_failed(channel: str, retrying: bool) -> None:
    """A delivery attempt failed; ``retrying`` False means the message is a dead letter."""
    _m("MESSAGES").labels(channel, "retry" if retrying else "failed").inc()


def set_outbox(summary: Mapping[str, Mapping[str, Any]], channels: Iterable[str]) -> None:
    """Refresh the pending/failed/sent alert gauges from a store channel summary."""
    for channel in channels:
        counts = summary.get(channel, {})
        for status in ("pending", "failed", "sent"):
            _m("ALERTS").labels(channel, status).set(counts.get(status) or 0)


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9464`` for IPv6) → (host, port); ValueError if malformed."""
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid metrics address {address!r}: use HOST:PORT, e.g. 127.0.0.1:9464")
    return host, int(port)


def serve(address: str) -> Any:
    """Serve ``/metrics`` on ``address`` in a background thread; the server (to shut down).

    Makes the metrics first (once per process): recording starts here.
    """
    from prometheus_client import start_http_server

    host, port = parse_address(address)
    if not _live:
        _live.update(_create())
    server, _thread = start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
