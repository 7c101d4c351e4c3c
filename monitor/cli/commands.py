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
import contextlib
import importlib
import json
import os
import secrets
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.cli.messages import count
from monitor.config import Channel, MonitorConfig
from monitor.errors import DeliveryError, MonitorError

if TYPE_CHECKING:
    from monitor.cli.checkcmd import cmd_check as cmd_check
    from monitor.cli.historycmd import cmd_history as cmd_history
    from monitor.cli.itemcmds import cmd_fetch as cmd_fetch
    from monitor.cli.itemcmds import cmd_test_rule as cmd_test_rule
    from monitor.cli.statuscmd import cmd_status as cmd_status
    from monitor.cli.statuscmd import cmd_status_without_config as cmd_status_without_config
    from monitor.cli.storecmd import cmd_store as cmd_store
    from monitor.ingest.opml import FeedsFile
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
    from monitor.store.opening import open_store
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
    store = open_store(config, create=False)
    renderer = Renderer(config.templates_dir)
    bodies: dict[str, Any] = {}
    try:
        for name in names:
            digest = Outbox(store).preview(name, datetime.now(UTC))
            pending = count(len(digest.stories), "story")
            print(f"=== channel {name}: {pending} pending ===", file=headers)
            bodies[name] = _preview_one(config.channels[name], digest, renderer, args.format)
            if bodies[name] is not None and args.format != "json":
                print(bodies[name])
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(bodies, ensure_ascii=False, indent=2))
    return 0


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


def cmd_import_opml(args: argparse.Namespace) -> int:
    """``import-opml FILE [-o YAML]``: a ``feeds:`` file (folders become tags) for
    ``include:``, on stdout or written to YAML (:func:`write_atomically`: its folders
    created, a file already there replaced whole, and said so).

    The file passes ``check`` (:func:`monitor.ingest.opml.feeds_file`); what was left
    out or changed to that end is said on stderr, a line per kind (:func:`_import_notes`).
    Raises MonitorError (exit 2, one line) when FILE cannot be read or YAML written."""
    import yaml

    from monitor.ingest.opml import feeds_file, read_outlines

    try:
        outlines = read_outlines(args.opml_file)
    except OSError as exc:
        raise MonitorError(f"{args.opml_file}: {exc.strerror}") from None
    made = feeds_file(outlines.feeds)
    entries = made.entries
    text = f"# imported from {Path(args.opml_file).name}: {count(len(entries), 'feed')}\n"
    text += yaml.safe_dump({"feeds": entries}, sort_keys=False, allow_unicode=True)
    if args.output:
        replaced = write_atomically(Path(args.output), text)
        print(
            f"wrote {count(len(entries), 'feed')} to {args.output}"
            + (", replacing the file that was there" if replaced else "")
            + "; add it to include: in your config"
        )
    else:
        print(text, end="")
    for note in _import_notes(outlines.skipped, made):
        print(f"import-opml: {note}", file=sys.stderr)
    return 0


def _import_notes(skipped: list[str], made: FeedsFile) -> list[str]:
    """One line per kind of outline ``import-opml`` left out or changed."""
    notes = []
    if skipped:
        notes.append(f"skipped {count(len(skipped), 'outline')} without xmlUrl: {_quoted(skipped)}")
    if made.merged:
        notes.append(
            f"merged {count(made.merged, 'outline')} listing a feed URL listed before "
            "(one feed each: the first title, the tags of every folder)"
        )
    if made.refused:
        notes.append(
            f"skipped {count(len(made.refused), 'feed')} whose URL is not http(s):// or "
            f"file: {_quoted(made.refused)}"
        )
    if made.renamed:
        pairs = [f"{old!r} -> {new!r}" for old, new in made.renamed]
        notes.append(f"renamed {count(len(pairs), 'feed')} whose name was taken: {_some(pairs)}")
    if made.respelt:
        pairs = [f"{old!r} -> {new!r}" for old, new in made.respelt]
        notes.append(f"wrote {count(len(pairs), 'tag')} as first spelt: {_some(pairs)}")
    return notes


def _quoted(names: list[str]) -> str:
    """``"a", "b"``: ``names`` quoted (JSON's quoting), at most 10 of them."""
    return _some([json.dumps(n, ensure_ascii=False) for n in names])


def _some(shown: list[str], most: int = 10) -> str:
    """The first ``most`` of ``shown``, comma-separated, and how many more there are."""
    more = f" and {len(shown) - most} more" if len(shown) > most else ""
    return ", ".join(shown[:most]) + more


def write_atomically(path: Path, text: str) -> bool:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all; True when a file was
    there before and is now replaced.

    Missing parent folders are created (``-o feeds.d/reader.yaml`` in a fresh
    checkout). The text goes to a temporary file in the same folder, is synced, then
    renamed over ``path`` with :func:`os.replace` (atomic within one file system,
    POSIX rename(2)), so a daemon reloading its ``include:`` meanwhile reads the old
    file or the new one, never half of one, and a failed write leaves the old file.
    The new file keeps the mode of the one it replaces (else 0666 less the umask, as
    any new file); a symbolic link at ``path`` is kept and its target replaced.
    Raises MonitorError (one line: the path and the system's reason) on any OSError.
    """
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # a file where a folder should be
            found = (p for p in reversed(target.parents) if p.exists() and not p.is_dir())
            file = next(found, target.parent)
            raise MonitorError(f"{path}: cannot write: {file} is not a folder") from None
        try:
            mode: int | None = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = None
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if mode is not None:
                    os.fchmod(handle.fileno(), mode)
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return mode is not None
