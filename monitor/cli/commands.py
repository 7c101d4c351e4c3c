"""What each ``news-monitor`` subcommand does; :mod:`monitor.cli` only dispatches here.

``check`` (:mod:`monitor.cli.checkcmd`), ``history`` (:mod:`monitor.cli.historycmd`),
``test-rule`` and ``fetch`` (:mod:`monitor.cli.itemcmds`), ``status``
(:mod:`monitor.cli.statuscmd`), ``import-opml`` (:mod:`monitor.cli.opmlcmd`) and ``store``
(:mod:`monitor.cli.storecmd`) are
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
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.cli.messages import count
from monitor.config import Channel, MonitorConfig
from monitor.errors import DeliveryError, MonitorError

if TYPE_CHECKING:
    from monitor.cli.checkcmd import cmd_check as cmd_check
    from monitor.cli.historycmd import cmd_history as cmd_history
    from monitor.cli.itemcmds import cmd_fetch as cmd_fetch
    from monitor.cli.itemcmds import cmd_test_rule as cmd_test_rule
    from monitor.cli.opmlcmd import cmd_import_opml as cmd_import_opml
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
    "cmd_import_opml": "monitor.cli.opmlcmd",
}


def __getattr__(name: str) -> Any:
    """The subcommands that live in other modules (see the module docstring)."""
    home = _ELSEWHERE.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def cmd_run(args: argparse.Namespace, config: MonitorConfig) -> Any:
    """``run [--once [--retry-now]]``: the daemon (a coroutine the CLI runs). Raises
    MonitorError (exit 2) for ``--retry-now`` without ``--once``."""
    from monitor.service.daemon import run_daemon

    if args.retry_now and not args.once:
        raise MonitorError("--retry-now goes with --once (the daemon retries by itself)")
    return run_daemon(config, once=args.once, config_path=args.config, retry_now=args.retry_now)


def cmd_preview(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``preview``: render what each channel would send now; send nothing, write nothing.

    ``text`` and ``sent`` are for reading: each channel under an ``=== channel NAME: N
    stories pending ===`` line. ``json`` and ``html`` are for programs, so standard
    output is exactly one document and those lines go to stderr: ``json`` one object
    keyed by channel name (config order), each value the webhook body of its pending
    stories or ``null`` when none; ``html`` the one channel's page (nothing when none
    is pending). Raises MonitorError (exit 2) for an unknown ``--channel``, and for
    ``--format html`` without ``--channel`` when the config has several channels.
    """
    from monitor.notify.render import Renderer
    from monitor.store.opening import read_store
    from monitor.store.outbox import Outbox

    names = [args.channel] if args.channel else list(config.channels)
    unknown = [n for n in names if n not in config.channels]
    if unknown:
        raise MonitorError(
            f"unknown channel {unknown[0]!r} (channels: {', '.join(config.channels)})"
        )
    if args.format == "html" and len(names) > 1:
        raise MonitorError(
            f"--format html shows one channel: add --channel NAME (channels: {', '.join(names)})"
        )
    headers = sys.stdout if args.format in ("text", "sent") else sys.stderr
    now = datetime.now(UTC)
    digests = read_store(config, lambda store: {n: Outbox(store).preview(n, now) for n in names})
    renderer = Renderer(config.templates_dir)
    bodies: dict[str, Any] = {}
    for name, digest in digests.items():
        pending = count(len(digest.stories), "story")
        print(f"=== channel {name}: {pending} pending ===", file=headers)
        if digest.stories and (note := _held_note(config, name, now)):
            print(note, file=headers)
        bodies[name] = _preview_one(config.channels[name], digest, renderer, args.format)
        if bodies[name] is not None and args.format != "json":
            print(bodies[name])
    if args.format == "json":
        print(json.dumps(bodies, ensure_ascii=False, indent=2))
    return 0


def _held_note(config: MonitorConfig, channel: str, now: datetime) -> str | None:
    """The line saying the channel's quiet hours hold these stories now (the rule
    delivery follows: :func:`monitor.notify.timing.held`); None when they do not."""
    from monitor.notify.timing import held

    hold = held(config, channel, now)
    if hold is None:
        return None
    return f"({hold.text(': not sent before then')})"


def _preview_one(settings: Channel, digest: Digest, renderer: Renderer, fmt: str) -> Any:
    """What ``preview --format FMT`` shows of one channel's pending ``digest``: the
    text to print, or for ``json`` the webhook body (a dict); None when it is empty."""
    if not digest.stories:
        return None
    if fmt == "sent":
        return _sent(settings, digest, renderer)
    zoned = renderer.in_zone(settings.timezone)
    if fmt == "html":
        return zoned.html(digest)
    if fmt == "json":
        from monitor.notify.webhook import build_body

        return build_body(digest)
    return zoned.text(digest)


def _sent(settings: Channel, digest: Digest, renderer: Renderer) -> str:
    """The channel's own message for ``digest`` (:mod:`monitor.notify.preview`), with a
    line for the stories that wait for the next message or why it would fail."""
    from monitor.notify.preview import preview_sent

    shown = preview_sent(settings, digest, renderer)
    if shown.failed:
        return shown.text
    if shown.waiting:
        note = (
            f"(this message holds {count(shown.sent, 'story')}; {shown.waiting} wait for "
            "the next one: max_items / max_message_bytes)"
        )
        return f"{note}\n{shown.text}"
    return shown.text


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
    message) and what could not be (every story pruned by retention), or "nothing to
    retry" when the channel has no dead letters (then no word of sending, unless the
    channel was disabled: the alerts that waited go at the next sweep).
    """
    from monitor.store.deadletters import PRUNED, requeue
    from monitor.store.opening import open_store
    from monitor.store.outbox import Outbox

    if args.channel not in config.channels:
        raise MonitorError(_unknown_channel(args.channel, config))
    store = open_store(config, create=False)
    try:
        disabled = Outbox(store).disabled(args.channel)
        report = requeue(store, args.channel, datetime.now(UTC))
    finally:
        store.close()
    queued = [r for r in report if r.stories]
    lost = [r for r in report if not r.stories]
    done = (
        f"{count(len(queued), 'dead letter')} queued again"
        if report
        else "nothing to retry: no dead letters"
    )
    print(f"{args.channel}: {done}" + ("; channel re-enabled" if disabled else ""))
    for r in queued:
        pruned = f"; {count(r.pruned, 'story')} pruned, not sent" if r.pruned else ""
        print(f"  message {r.message_id}: {count(r.stories, 'story')}{pruned}")
    if lost:
        print(f"{args.channel}: {count(len(lost), 'dead letter')} could not be queued again:")
        for r in lost:
            print(f"  message {r.message_id}: {PRUNED}")
    if queued or disabled:  # what waited while it was disabled goes out too
        print("a running daemon sends them at its next retry sweep; `news-monitor run --once` now")
    return 0


def _unknown_channel(name: str, config: MonitorConfig) -> str:
    """``retry``'s error for a channel the config does not have, saying so when alerts
    of a removed or renamed channel of that name still wait in the state."""
    from monitor.store.opening import open_store
    from monitor.store.status import stranded

    known = f"channels: {', '.join(config.channels)}"
    try:
        store = open_store(config, create=False)
    except MonitorError:
        return f"unknown channel {name!r} ({known})"
    try:
        waiting = stranded(store, config.channels).get(name)
    finally:
        store.close()
    if waiting is None:
        return f"unknown channel {name!r} ({known})"
    return (
        f"channel {name!r} is not in the config ({known}), and {sum(waiting)} of its alerts"
        f" wait ({waiting[0]} pending, {waiting[1]} dead letters): add a channel named"
        f" {name!r} back to send them"
    )
