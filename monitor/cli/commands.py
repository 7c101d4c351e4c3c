"""What each ``news-monitor`` subcommand does; :mod:`monitor.cli` only dispatches here.

``check`` (:mod:`monitor.cli.checkcmd`), ``history`` (:mod:`monitor.cli.historycmd`),
``test-rule`` and ``fetch`` (:mod:`monitor.cli.itemcmds`) and ``store``
(:mod:`monitor.cli.storecmd`) are re-exported here, loaded when asked for. Each
command imports what it uses when it runs, so ``run --once`` does not load the
templates, ``status`` the daemon, or ``check`` the fetcher (start-up time:
docs/architecture.md, "Start-up"). ``status``, ``preview`` and ``retry`` open the
store the config names (:func:`monitor.store.opening.open_store`: SQLite, or
PostgreSQL with ``store:``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import MonitorConfig
from monitor.errors import ConfigError, DeliveryError, MonitorError

if TYPE_CHECKING:
    from monitor.cli.checkcmd import cmd_check as cmd_check
    from monitor.cli.historycmd import cmd_history as cmd_history
    from monitor.cli.itemcmds import cmd_fetch as cmd_fetch
    from monitor.cli.itemcmds import cmd_test_rule as cmd_test_rule
    from monitor.cli.storecmd import cmd_store as cmd_store
    from monitor.models import Digest
    from monitor.notify.render import Renderer
    from monitor.store.sqlite import FeedState, Store

_ELSEWHERE = {
    "cmd_check": "monitor.cli.checkcmd",
    "cmd_history": "monitor.cli.historycmd",
    "cmd_fetch": "monitor.cli.itemcmds",
    "cmd_test_rule": "monitor.cli.itemcmds",
    "cmd_store": "monitor.cli.storecmd",
}


def __getattr__(name: str) -> Any:
    """The subcommands that live in other modules (see the module docstring)."""
    home = _ELSEWHERE.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def cmd_run(args: argparse.Namespace, config: MonitorConfig) -> Any:
    """``run [--once]``: the daemon (a coroutine the CLI runs)."""
    from monitor.service.daemon import run_daemon

    return run_daemon(config, once=args.once, config_path=args.config)


def cmd_preview(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``preview``: render what each channel would send now; send nothing, write nothing."""
    from monitor.notify.render import Renderer
    from monitor.store.opening import open_store
    from monitor.store.outbox import Outbox

    names = [args.channel] if args.channel else list(config.channels)
    unknown = [n for n in names if n not in config.channels]
    if unknown:
        raise MonitorError(
            f"unknown channel {unknown[0]!r} (channels: {', '.join(config.channels)})"
        )
    store = open_store(config, create=False)
    renderer = Renderer(config.templates_dir)
    try:
        for name in names:
            digest = Outbox(store).preview(name, datetime.now(UTC))
            print(f"=== channel {name}: {len(digest.stories)} stories pending ===")
            if digest.stories:
                zone = config.channels[name].timezone
                print(_render(renderer.in_zone(zone), digest, args.format))
    finally:
        store.close()
    return 0


def _render(renderer: Renderer, digest: Digest, fmt: str) -> str:
    if fmt == "html":
        return renderer.html(digest)
    if fmt == "json":
        from monitor.notify.webhook import build_body

        return json.dumps(build_body(digest), ensure_ascii=False, indent=2)
    return renderer.text(digest)


async def cmd_send_test(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``send-test CHANNEL``: send a test digest and print what the destination said.

    The digest is the sample story under a fresh id, dated now and addressed to the
    channel by its name, marked as a test (``[TEST]`` subject, a test header or field),
    so receivers that drop repeated ids or old dates still show every test.
    """
    from monitor.ingest.fetch import make_client
    from monitor.notify import build_notifier
    from monitor.notify.render import Renderer, send_test_digest

    if args.channel not in config.channels:
        raise MonitorError(
            f"unknown channel {args.channel!r} (channels: {', '.join(config.channels)})"
        )
    async with make_client() as client:
        notifier = build_notifier(
            args.channel, config.channels[args.channel], Renderer(config.templates_dir), client
        )
        try:
            answer = await notifier.send(send_test_digest(args.channel, datetime.now(UTC)))
        except DeliveryError as exc:
            kind = "retryable" if exc.retryable else "permanent"
            print(f"{args.channel}: FAILED ({kind}): {exc}")
            return 1
    print(f"{args.channel}: ok: {answer}")
    return 0


def cmd_status(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``status``: feeds, rules, channels and the store from the live state, SQLite or
    the config's PostgreSQL (never creates it)."""
    from monitor.store.opening import open_store

    store = open_store(config, create=False)
    try:
        report = _status(config, store)
    finally:
        store.close()
    return _print_status(args, report)


def cmd_status_without_config(args: argparse.Namespace, path: Path, error: ConfigError) -> int:
    """``status`` while the config at ``path`` does not load: a CONFIG ERROR banner,
    then what the database knows (the daemon runs on the config it loaded before).
    Exit 1: the command ran and found a problem."""
    from monitor.cli.statusinfo import banner, config_state, report_from_store
    from monitor.config.statedir import without_config
    from monitor.store.sqlite import NoStateError, Store

    issues = [str(issue) for issue in error.issues]
    try:
        store = Store.open(without_config(path), create=False)
    except NoStateError:
        print("\n".join(banner(issues)), file=sys.stderr)  # both problems, then exit 2
        raise
    try:
        report = report_from_store(store, datetime.now(UTC))
        report["config"] = config_state(store)
    finally:
        store.close()
    report["config_error"] = issues
    _print_status(args, report)
    return 1


def _print_status(args: argparse.Namespace, report: dict[str, Any]) -> int:
    from monitor.cli.statusinfo import banner, local_time, reload_banner, store_lines

    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    for line in banner(report.get("config_error", [])) or reload_banner(report["config"]):
        print(line)
    tz = report.get("timezone", "UTC")
    print(f"FEEDS (times in {tz})")
    for f in report["feeds"]:
        state = "ok" if not f["consecutive_failures"] else f"FAILING x{f['consecutive_failures']}"
        if f["state"] == "never polled":
            state = "never polled"
        if f["disabled_since"]:
            state = f"DISABLED since {local_time(f['disabled_since'], tz)} (410 Gone)"
        print(
            f"  {f['name']}: {state}; last success {local_time(f['last_success'], tz)}; "
            f"next poll {local_time(f['next_poll'], tz, '-')}"
        )
        if f["last_error"]:
            print(f"    last error: {f['last_error']}")
    print("RULES")
    for r in report["rules"]:
        print(
            f"  {r['name']}: {r['matches_24h']} matches in 24 h, {r['matches_30d']} in 30 d"
            + (
                f"; {r['baseline_30d']} more at first polls, not alerted (backfill)"
                if r["baseline_30d"]
                else ""
            )
        )
    print("CHANNELS")
    for c in report["channels"]:
        print(
            f"  {c['name']}: pending {c['pending']}, failed {c['failed']}, "
            f"last sent {local_time(c['last_sent'], tz)}"
            + (f"; last error: {c['last_error']}" if c.get("last_error") else "")
        )
        if c["next_digest"]:
            print(f"    next digest: {c['next_digest']['text']}")
        if c.get("disabled"):
            print(
                f"    DISABLED since {local_time(c['disabled']['since'], tz)}: "
                f"{c['disabled']['reason']} "
                f"(alerts keep queueing; `news-monitor retry {c['name']}` re-enables)"
            )
    if report["dead_letters"]:
        print("DEAD LETTERS (`news-monitor retry CHANNEL` sends them again)")
        for d in report["dead_letters"]:
            failed = local_time(d["failed_at"], tz)
            print(f"  {d['channel']} {d['id']}: failed {failed}: {d['error']}")
    for line in store_lines(report, tz):
        print(line)
    return 0


def _status(config: MonitorConfig, store: Store) -> dict[str, Any]:
    from monitor.cli.clusterinfo import cluster, store_info
    from monitor.cli.statusinfo import config_state, next_digest
    from monitor.redact import redact_url
    from monitor.store.history import NO_COUNTS, split_baseline
    from monitor.store.status import channel_summary, dead_letters, rule_counts, storage

    now = datetime.now(UTC)
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
            **counts.get(r.name, NO_COUNTS),
        }
        for r in config.rules
    ]
    summary = channel_summary(store)
    channels = [
        {
            "name": n,
            "type": c.type,
            "schedule": str(c.schedule),
            "pending": 0,
            "failed": 0,
            "sent": 0,
            "last_sent": None,
            "disabled": None,
            **summary.get(n, {}),
            "next_digest": next_digest(store, n, c, now),
        }
        for n, c in config.channels.items()
    ]
    return {
        "timezone": config.timezone,
        "config": config_state(store),
        "feeds": feeds,
        "rules": rules,
        "channels": channels,
        "dead_letters": dead_letters(store),
        "store": store_info(config),
        # several instances share a PostgreSQL store; one machine's SQLite has no others
        "cluster": cluster(store) if config.store is not None else None,
        "storage": storage(store),
    }


def _feed_state(s: FeedState | None) -> str:
    """ok, failing, disabled (410 Gone), or never polled (no state yet: not "ok")."""
    if s is None or (s.last_success is None and not s.consecutive_failures):
        return "never polled"
    if s.gone_at:
        return "disabled"
    return "failing" if s.consecutive_failures else "ok"


def cmd_retry(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``retry CHANNEL``: re-enable a disabled channel and re-queue its dead letters.

    Re-queued messages keep their ids; the daemon sends them at its next retry
    sweep, or ``run --once`` sends them at once, re-formed under the current
    ``max_items`` and ``max_message_bytes``. Prints what was re-queued (stories per
    message) and what could not be (every story pruned by retention).
    """
    from monitor.store.deadletters import PRUNED, requeue
    from monitor.store.opening import open_store
    from monitor.store.outbox import Outbox

    if args.channel not in config.channels:
        raise MonitorError(
            f"unknown channel {args.channel!r} (channels: {', '.join(config.channels)})"
        )
    store = open_store(config, create=False)
    try:
        disabled = Outbox(store).disabled(args.channel)
        report = requeue(store, args.channel, datetime.now(UTC))
    finally:
        store.close()
    queued = [r for r in report if r.stories]
    lost = [r for r in report if not r.stories]
    print(
        f"{args.channel}: {_count(len(queued), 'dead letter')} queued again"
        + ("; channel re-enabled" if disabled else "")
    )
    for r in queued:
        pruned = f"; {_count(r.pruned, 'story')} pruned, not sent" if r.pruned else ""
        print(f"  message {r.message_id}: {_count(r.stories, 'story')}{pruned}")
    if lost:
        print(f"{args.channel}: {_count(len(lost), 'dead letter')} could not be queued again:")
        for r in lost:
            print(f"  message {r.message_id}: {PRUNED}")
    print("a running daemon sends them at its next retry sweep; `news-monitor run --once` now")
    return 0


def _count(n: int, noun: str) -> str:
    plural = "stories" if noun == "story" else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def cmd_import_opml(args: argparse.Namespace) -> int:
    """``import-opml FILE``: a ``feeds:`` file (folders become tags) for ``include:``."""
    import yaml

    from monitor.ingest.opml import read_opml

    try:
        feeds = read_opml(args.opml_file)
    except OSError as exc:
        raise MonitorError(f"{args.opml_file}: {exc.strerror}") from None
    entries = [{k: v for k, v in f.items() if v} for f in feeds]
    text = f"# imported from {Path(args.opml_file).name}: {len(entries)} feeds\n"
    text += yaml.safe_dump({"feeds": entries}, sort_keys=False, allow_unicode=True)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(entries)} feeds to {args.output}; add it to include: in your config")
    else:
        print(text, end="")
    return 0
