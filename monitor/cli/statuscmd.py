"""``news-monitor status``: feeds, rules, channels, dead letters and the store, from
the live state (SQLite, or the config's PostgreSQL), as text or ``--json``.

Split from :mod:`monitor.cli.commands`, which re-exports :func:`cmd_status` and
:func:`cmd_status_without_config`; the lines of the report's parts are
:mod:`monitor.cli.statusinfo` and :mod:`monitor.cli.clusterinfo`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.cli.messages import DUE_NOW, count, due_now
from monitor.config import MonitorConfig
from monitor.errors import ConfigError, MonitorError
from monitor.store.codec import ts

if TYPE_CHECKING:
    from monitor.cli.progress import Progress
    from monitor.store.sqlite import FeedState, Store


def cmd_status(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``status``: feeds, rules, channels and the store from the live state, SQLite or
    the config's PostgreSQL (never creates or writes it)."""
    from monitor.store.opening import read_store

    return _print_status(args, read_store(config, lambda store: _status(config, store)))


def cmd_status_without_config(args: argparse.Namespace, path: Path, error: ConfigError) -> int:
    """``status`` while the config at ``path`` does not load: a CONFIG ERROR banner,
    then what the database knows (the daemon runs on the config it loaded before).
    Exit 1: the command ran and found a problem.

    When there is no file at ``path``, the banner says where the config was looked
    for and how to name it (:func:`monitor.cli.messages.not_found_hint`) instead of
    the advice to fix and reload, which is for a file that exists but is broken.
    """
    from monitor.cli.messages import not_found_hint
    from monitor.cli.statusinfo import BANNER_TAIL, banner, config_state, report_from_store
    from monitor.config.statedir import sqlite_state_without_config
    from monitor.store.opening import read_sqlite_store

    issues = [str(issue) for issue in error.issues]
    lines = banner(issues, not_found_hint(path, args.config) or BANNER_TAIL)

    def read(store: Store) -> dict[str, Any]:
        report = report_from_store(store, datetime.now(UTC))
        return report | {"config": config_state(store)}

    try:
        report = read_sqlite_store(sqlite_state_without_config(path), read)
    except MonitorError:  # no state, or none without the config (store:)
        print("\n".join(lines), file=sys.stderr)  # both problems, then exit 2
        raise
    report["config_error"] = issues
    _print_status(args, report, lines)
    return 1


def _print_status(
    args: argparse.Namespace, report: dict[str, Any], config_banner: Sequence[str] = ()
) -> int:
    """Print ``report`` as JSON (every time ISO 8601 UTC, :func:`_json_value`) or as
    text in the config's time zone, opened by ``config_banner`` (the config on disk
    does not load) or else the failed reload's banner."""
    from monitor.cli.statusinfo import local_time, reload_banner, store_lines

    if args.json:
        print(json.dumps(report, indent=2, default=_json_value))
        return 0
    for line in config_banner or reload_banner(report["config"]):
        print(line)
    tz = report.get("timezone", "UTC")
    print(f"FEEDS (times in {tz})")
    for line in _feed_lines(report["feeds"], tz):
        print(line)
    print("RULES")
    for r in report["rules"]:
        print(_rule_line(r))
    print("CHANNELS")
    for line in _channel_lines(report["channels"], tz):
        print(line)
    if report["dead_letters"]:
        print("DEAD LETTERS (`news-monitor retry CHANNEL` sends them again)")
        for d in report["dead_letters"]:
            failed = local_time(d["failed_at"], tz)
            got = f"; {d['progress']['text']}" if d.get("progress") else ""
            print(f"  {d['channel']} {d['id']}: failed {failed}: {d['error']}{got}")
    for line in store_lines(report, tz):
        print(line)
    return 0


def _feed_lines(feeds: list[dict[str, Any]], tz: str) -> list[str]:
    """Each feed's line (state, last success, next poll) and its last error's."""
    from monitor.cli.statusinfo import last_error_line, local_time

    lines = []
    for f in feeds:
        state = "ok" if not f["consecutive_failures"] else f"FAILING x{f['consecutive_failures']}"
        if f["state"] == "never polled":
            state = "never polled"
        if f["disabled_since"]:
            state = f"DISABLED since {local_time(f['disabled_since'], tz)} (410 Gone)"
        lines.append(
            f"  {f['name']}: {state}; last success {local_time(f['last_success'], tz)}; "
            f"next poll {local_time(f['next_poll'], tz, '-')}"
        )
        if f["last_error"]:
            error = last_error_line(f["last_error"], f["last_error_at"], f["last_success"], tz)
            lines.append(f"    {error}")
        if f.get("parse_warning"):  # its last parse: alerts from it may be degraded
            when = local_time(f["parse_warning_at"], tz)
            lines.append(f"    last parse {when} had a warning: {f['parse_warning']}")
    return lines


def _rule_line(r: dict[str, Any]) -> str:
    """A rule's matches in 24 h and 30 d, and those not alerted, with the reason when the
    config gives it (``channels`` None: no config, so no reason is claimed)."""
    day, month = r["matches_24h"], r["matches_30d"]
    if r.get("channels") == []:  # nothing alerts: say why
        total = (day + r["baseline_24h"], month + r["baseline_30d"])
        return (
            f"  {r['name']}: {count(total[0], 'match')} in 24 h, {total[1]} in 30 d; "
            "notifies no channel, so none alerted"
        )
    why = " (backfill)" if r.get("channels") is not None else ""
    more = r["baseline_30d"]
    return f"  {r['name']}: {count(day, 'match')} in 24 h, {month} in 30 d" + (
        f"; {more} more at first polls, not alerted{why}" if more else ""
    )


def _channel_lines(channels: list[dict[str, Any]], tz: str) -> list[str]:
    """Each channel's counts and last message, its last error (with its time), what
    its next digest waits for, and whether its destination disabled it."""
    from monitor.cli.statusinfo import last_error_line, local_time

    lines = []
    for c in channels:
        lines.append(
            f"  {c['name']}: pending {c['pending']}, failed {c['failed']}, "
            f"last sent {local_time(c['last_sent'], tz)}"
        )
        if c.get("removed"):
            lines.append(
                "    NOT IN THE CONFIG (removed or renamed): nothing sends these alerts"
                " until a channel of that name is back"
            )
            continue
        if c.get("last_error"):
            error = last_error_line(c["last_error"], c.get("last_error_at"), c["last_sent"], tz)
            if c.get("progress"):  # the message stopped partway: a Slack part, a recipient
                error += f"; {c['progress']['text']}"
            if c.get("next_attempt") and not c.get("disabled"):  # waits for its retry
                when = f"next attempt at {local_time(c['next_attempt'], tz)}"
                error += "; " + (DUE_NOW if due_now(c["next_attempt"]) else when)
            lines.append(f"    {error}")
        if c["next_digest"]:
            lines.append(f"    next digest: {c['next_digest']['text']}")
        if c.get("disabled"):
            lines.append(
                f"    DISABLED since {local_time(c['disabled']['since'], tz)}: "
                f"{c['disabled']['reason']} "
                f"(alerts keep queueing; `news-monitor retry {c['name']}` re-enables)"
            )
    return lines


def _json_value(value: Any) -> Any:
    """What ``status --json`` writes for a value JSON has no type for: a time as
    ``2026-12-01T03:17:25Z`` (UTC, to the second, :func:`monitor.store.codec.ts`), as
    the database stores it and ``history --json`` prints it; anything else as text.
    The store's times are UTC, so a naive one (none is expected) is read as UTC."""
    if isinstance(value, datetime):
        return ts(value if value.tzinfo else value.replace(tzinfo=UTC))
    return str(value)


def _status(config: MonitorConfig, store: Store) -> dict[str, Any]:
    from monitor.cli.clusterinfo import cluster, store_info
    from monitor.cli.progress import Progress
    from monitor.cli.statusinfo import config_state
    from monitor.redact import redact_url
    from monitor.store.history import NO_COUNTS, split_baseline
    from monitor.store.status import dead_letters, rule_counts, storage

    now = datetime.now(UTC)
    progress = Progress(store.conn, config)  # one for every message status reads
    states = {f.url: f for f in store.feeds()}
    feeds = []
    for feed in config.feeds:
        s = states.get(feed.key)
        feeds.append(
            {
                "name": feed.display_name,
                "url": redact_url(feed.url),
                "state": _feed_state(s),
                "last_success": s and s.last_success,
                "last_error": s and s.last_error,
                "last_error_at": s and s.last_error_at,
                "parse_warning": s and s.parse_warning,
                "parse_warning_at": s and s.parse_warning_at,
                "consecutive_failures": s.consecutive_failures if s else 0,
                "next_poll": s and s.next_poll,
                "items_seen": s.items_seen if s else 0,
                "disabled_since": s and s.gone_at,
                "moved_to": redact_url(s.permanent_url) if s and s.permanent_url else None,
            }
        )
    counts = split_baseline(store.conn, rule_counts(store, now), now)
    rules = [
        {
            "name": r.name,
            "query": r.query,
            "channels": config.rule_channels(r),
            **counts.get(r.name, NO_COUNTS),
        }
        for r in config.rules
    ]
    return {
        "timezone": config.timezone,
        "config": config_state(store),
        "feeds": feeds,
        "rules": rules,
        "channels": _channels(config, store, now, progress),
        "dead_letters": [progress.dead_letter(d) for d in dead_letters(store)],
        "store": store_info(config),
        # several instances share a PostgreSQL store; one machine's SQLite has no others
        "cluster": cluster(store) if config.store is not None else None,
        "storage": storage(store),
    }


def _channels(
    config: MonitorConfig, store: Store, now: datetime, progress: Progress
) -> list[dict[str, Any]]:
    """Each configured channel: counts, last message and error (``last_error_at``; how
    far that error's message got, ``progress``), its destination's disabling, quiet
    hours holding it (``held_until``, UTC, by :func:`monitor.notify.timing.held`,
    delivery's own rule) and its next digest."""
    from monitor.cli.statusinfo import next_digest
    from monitor.notify.timing import held
    from monitor.store.status import channel_summary

    summary = {n: progress.channel(n, s) for n, s in channel_summary(store).items()}

    def counts(name: str) -> dict[str, Any]:
        entry = {"pending": 0, "failed": 0, "sent": 0, "last_sent": None, "disabled": None}
        return entry | {"last_error_at": None, "progress": None, **summary.get(name, {})}

    channels = []
    for n, c in config.channels.items():
        entry = counts(n)
        hold = held(config, n, now)
        channels.append(
            {
                "name": n,
                "type": c.type,
                "schedule": str(c.schedule),
                **entry,
                "held_until": hold and hold.until,
                "next_digest": next_digest(store, n, c, now, hold, entry["disabled"]),
            }
        )
    for n, entry in summary.items():  # removed or renamed, alerts still waiting
        if n not in config.channels and (entry.get("pending") or entry.get("failed")):
            channels.append(
                {"name": n, "type": None, "schedule": None, "removed": True, **counts(n)}
            )
    return channels


def _feed_state(s: FeedState | None) -> str:
    """ok, failing, disabled (410 Gone), or never polled (no state yet: not "ok")."""
    if s is None or (s.last_success is None and not s.consecutive_failures):
        return "never polled"
    if s.gone_at:
        return "disabled"
    return "failing" if s.consecutive_failures else "ok"
