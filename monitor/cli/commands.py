"""What each ``news-monitor`` subcommand does; :mod:`monitor.cli` only dispatches here.

``check`` (:mod:`monitor.cli.checkcmd`), ``history`` (:mod:`monitor.cli.historycmd`),
``test-rule`` and ``fetch`` (:mod:`monitor.cli.itemcmds`), ``status``
(:mod:`monitor.cli.statuscmd`) and ``store`` (:mod:`monitor.cli.storecmd`) are
re-exported here, loaded when asked for. Each command imports what it uses when it
runs, so ``run --once`` does not load the templates, ``status`` the daemon, or
``check`` the fetcher (start-up time:
docs/architecture.md, "Start-up"). ``status``, ``preview`` and ``retry`` open the
store the config names (:func:`monitor.store.opening.open_store`: SQLite, or
PostgreSQL with ``store:``).
"""

from __future__ import annotations

import argparse
import importlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import MonitorConfig
from monitor.errors import DeliveryError, MonitorError

if TYPE_CHECKING:
    from monitor.cli.checkcmd import cmd_check as cmd_check
    from monitor.cli.historycmd import cmd_history as cmd_history
    from monitor.cli.itemcmds import cmd_fetch as cmd_fetch
    from monitor.cli.itemcmds import cmd_test_rule as cmd_test_rule
    from monitor.cli.statuscmd import cmd_status as cmd_status
    from monitor.cli.statuscmd import cmd_status_without_config as cmd_status_without_config
    from monitor.cli.storecmd import cmd_store as cmd_store
    from monitor.models import Digest
    from monitor.notify.render import Renderer

_ELSEWHERE = {
    "cmd_check": "monitor.cli.checkcmd",
    "cmd_history": "monitor.cli.historycmd",
    "cmd_fetch": "monitor.cli.itemcmds",
    "cmd_test_rule": "monitor.cli.itemcmds",
    "cmd_store": "monitor.cli.storecmd",
    "cmd_status": "monitor.cli.statuscmd",
    "cmd_status_without_config": "monitor.cli.statuscmd",
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
