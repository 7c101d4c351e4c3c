"""``news-monitor history``: every match, newest first, and where each alert went.

The analyst's "why did I (not) get this?": per match the rule, feed, title, link,
its story (and the copies folded into it) and per channel pending, sent (when,
message id) or failed (why). ``--message ID`` shows what one message carried. Reads
the state read-only (:mod:`monitor.store.history`: ``state_dir``'s SQLite file, or the
PostgreSQL database of ``store:``); the text's times are in the config's
``timezone``, ``--json``'s UTC. Links, feed URLs
and errors go through :func:`~monitor.redact.redact_url`; the CLI's stdout filters
control characters (:mod:`monitor.terminal`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.cli.historytext import match_text, show_message
from monitor.cli.messages import REMOVED_WAITING, disabled_waiting, message_id_given
from monitor.cli.progress import Progress
from monitor.config import MonitorConfig, parse_duration
from monitor.errors import ConfigError, MonitorError
from monitor.redact import error_line, redact_url

if TYPE_CHECKING:
    from monitor.notify.timing import Hold
    from monitor.store.dialect import Connection
    from monitor.store.history import Filters

    Reader = Callable[[Callable[[Connection], Any]], Any]  # runs a read on the state, closes it


def add_history_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``history`` and its options on the CLI's subcommand parsers."""
    history = sub.add_parser(
        "history", parents=[common], help="what matched, and where each alert went"
    )
    history.add_argument("--since", metavar="DURATION", help="only matches this recent (24h, 7d)")
    history.add_argument("--rule", help="only this rule")
    history.add_argument("--channel", help="only matches routed to this channel")
    history.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    history.add_argument("--message", metavar="ID", help="show what the message ID carried")
    history.add_argument("--json", action="store_true", help="one JSON document")


def cmd_history(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``history``: list matches with their alerts' outcome, or one message (``--message``).

    Exit 0 when it ran, 1 when ``--message`` names no message; raises MonitorError
    (exit 2) for a bad option (a rule or channel neither the config nor the database
    knows), when there is no state (nothing is created) or when the database cannot
    be read.
    """
    from monitor.store.readonly import reader_for

    since = _since(args)
    reader, where = reader_for(config)
    return _history(args, reader, where, config, since)


def cmd_history_without_config(args: argparse.Namespace, path: Path, error: ConfigError) -> int:
    """``history`` while the config at ``path`` does not load (a failed reload: the
    daemon runs on the config it loaded before), as ``status`` does: the CONFIG ERROR
    banner on stderr, then the history from the SQLite state the file names (its
    ``state_dir:`` line, or ``--state-dir``). Exit 1 (it ran, and found a problem), as
    ``status``; with no state either, the banner and then exit 2."""
    from monitor.cli.messages import not_found_hint
    from monitor.cli.statusinfo import BANNER_TAIL, banner
    from monitor.config.statedir import sqlite_state_without_config
    from monitor.store.readonly import read_state

    lines = banner([str(i) for i in error.issues], not_found_hint(path, args.config) or BANNER_TAIL)
    print("\n".join(lines), file=sys.stderr)
    since = _since(args)
    state_dir = sqlite_state_without_config(path)

    def reader(read: Callable[[Connection], Any]) -> Any:
        return read_state(state_dir, read)

    code = _history(args, reader, str(state_dir), None, since)
    return max(code, 1)


def _history(
    args: argparse.Namespace,
    reader: Reader,
    where: str,
    config: MonitorConfig | None,
    since: datetime | None,
) -> int:
    """Run the query through ``reader`` and print; ``config`` None: none loads."""
    from monitor.store.history import disabled_channels, list_matches, message

    def read_message(conn: Connection) -> tuple[dict | None, Any]:
        found = message(conn, message_id_given(args.message))
        Progress(conn, config).message(found)  # how far it got (Slack parts, recipients)
        return found, found and disabled_channels(conn).get(found["channel"])

    def read_matches(conn: Connection) -> tuple[list, int, dict]:
        rows, more = list_matches(conn, _filters(args, conn, config, since))
        Progress(conn, config).alerts(rows)
        return rows, more, disabled_channels(conn)

    try:
        if args.message:
            found, disabled_at = reader(read_message)
        else:
            rows, more, disabled = reader(read_matches)
    except _read_errors(config) as exc:  # damaged after it opened: one line, no traceback
        raise MonitorError(f"cannot read the state in {where}: {error_line(exc)}") from None
    if args.message:
        if found is None:
            print(f"no message {args.message!r} in {where}")
            return 1
        channels = frozenset(config.channels) if config is not None else None
        waiting = channel_waiting(found["channel"], channels, disabled_at)
        show_message(_redacted_message(found, config), args.json, waiting, _zone(config))
        return 0
    why = _Reasons.of(config, disabled, datetime.now(UTC))
    rows = [why.added_to(_redacted(r, config)) for r in rows]
    if args.json:
        print(json.dumps({"matches": rows, "more": more}, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(match_text(row, _zone(config)))
    if more:
        print(f"... {more} older matches not shown (--limit, --since)")
    if not rows:
        print("no matches" + (" with these filters" if _filtered(args) else ""))
    return 0


def _zone(config: MonitorConfig | None) -> str:
    """The zone of the text's times: the config's ``timezone``, as ``status`` uses;
    UTC when no config loads."""
    return config.timezone if config is not None else "UTC"


def _read_errors(config: MonitorConfig | None) -> tuple[type[Exception], ...]:
    """The database errors a read can raise once the state is open: psycopg's with
    ``store:`` (an optional extra); none on SQLite, whose reader
    (:func:`~monitor.store.readonly.read_state`) gives them as one-line
    StateDatabaseErrors."""
    if config is None or config.store is None:
        return ()
    import psycopg

    return (psycopg.Error,)


def _since(args: argparse.Namespace) -> datetime | None:
    """``--since`` as a UTC time; MonitorError for a duration that cannot be, or a
    ``--limit`` below 1 (checked before the state is opened)."""
    if args.limit < 1:
        raise MonitorError("--limit must be 1 or more")
    if not args.since:
        return None
    try:
        return datetime.now(UTC) - parse_duration(args.since)
    except ValueError as exc:
        raise MonitorError(f"--since: {exc}") from None


def _filters(
    args: argparse.Namespace, conn: Connection, config: MonitorConfig | None, since: datetime | None
) -> Filters:
    """The query's filters; MonitorError for a ``--rule`` or ``--channel`` that neither
    the config nor the database knows (a rule taken out of the config keeps its
    matches in the database, and is accepted)."""
    from monitor.store.history import Filters, known_names

    config_rules = [r.name for r in config.rules] if config else []
    config_channels = list(config.channels) if config else []
    if (args.rule and args.rule not in config_rules) or (
        args.channel and args.channel not in config_channels
    ):
        stored_rules, stored_channels = known_names(conn)
        _known("rule", args.rule, config_rules, stored_rules)
        _known("channel", args.channel, config_channels, stored_channels)
    routed: tuple[str, ...] = ()
    if args.channel and config is not None:
        routed = tuple(r.name for r in config.rules if args.channel in config.rule_channels(r))
    return Filters(since, args.rule, args.channel, routed, args.limit)


def _known(kind: str, name: str | None, configured: list[str], stored: list[str]) -> None:
    """MonitorError naming the known ones when ``name`` is in neither list."""
    if name is None or name in configured or name in stored:
        return
    names = list(dict.fromkeys([*configured, *stored]))
    raise MonitorError(
        f"unknown {kind} {name!r} ({kind}s: {', '.join(names) or 'none'}; "
        "from the config and the database)"
    )


def _filtered(args: argparse.Namespace) -> bool:
    return bool(args.since or args.rule or args.channel)


def _feed_names(config: MonitorConfig | None) -> dict[str, str]:
    return {f.key: f.display_name for f in config.feeds} if config else {}


def _redacted_item(entry: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """An item's fields as shown: the config's feed name, links without secrets."""
    feed = entry["feed"]
    return {
        **entry,
        "link": redact_url(entry["link"]) if entry.get("link") else entry.get("link"),
        "feed": feed
        and {
            "name": names.get(feed["key"], redact_url(feed["name"])),
            "url": redact_url(feed["key"]),
        },
    }


def _redacted(row: dict[str, Any], config: MonitorConfig | None) -> dict[str, Any]:
    names = _feed_names(config)
    story = row["story"]
    channels = [
        {**c, "last_error": c["last_error"] and redact_url(c["last_error"])}
        for c in row["channels"]
    ]
    return {
        **_redacted_item(row, names),
        "story": {**story, "copies": [_redacted_item(c, names) for c in story["copies"]]},
        "channels": channels,
    }


def _redacted_message(found: dict[str, Any], config: MonitorConfig | None) -> dict[str, Any]:
    names = _feed_names(config)
    stories = []
    for s in found["stories"]:
        story = s["story"]
        copies = [_redacted_item(c, names) for c in story["copies"]]
        stories.append({**_redacted_item(s, names), "story": {**story, "copies": copies}})
    return {
        **found,
        "answer": found["answer"] and redact_url(found["answer"]),
        "last_error": found["last_error"] and redact_url(found["last_error"]),
        "stories": stories,
    }


def channel_waiting(
    channel: str, channels: frozenset[str] | None, disabled: str | None
) -> str | None:
    """What a pending alert or message of ``channel`` waits for, whatever its turn:
    its channel gone from the config (``channels``; None without a config: not known),
    or disabled by its destination (``disabled``: the stored reason); else None."""
    if channels is not None and channel not in channels:
        return REMOVED_WAITING
    return disabled_waiting(channel, disabled) if disabled is not None else None


@dataclass(frozen=True)
class _Reasons:
    """Why the listed matches' alerts went nowhere, or wait, worked out once for the
    whole listing (not per row: a config may have 100,000 rules).

    ``unrouted``: the rules that notify no channel (None without a config: not known);
    ``disabled``: channel name to the reason its destination disabled it; ``holds``:
    each channel's quiet hours holding it now (delivery's own rule,
    :func:`monitor.notify.timing.held`, urgent rules excepted), None when not held.
    """

    unrouted: frozenset[str] | None
    disabled: dict[str, str]
    holds: dict[str, Hold | None]
    channels: frozenset[str] | None = None  # the config's; None without a config

    @classmethod
    def of(cls, config: MonitorConfig | None, disabled: dict[str, str], now: datetime) -> _Reasons:
        """The reasons under ``config`` at ``now`` (UTC)."""
        if config is None:
            return cls(None, disabled, {})
        from monitor.notify.timing import held

        unrouted = frozenset(r.name for r in config.rules if not config.rule_channels(r))
        holds = {name: held(config, name, now) for name in config.channels}
        return cls(unrouted, disabled, holds, frozenset(config.channels))

    def added_to(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with why nothing (or nothing yet) went out: ``no_channel`` (its rule
        notifies no channel, which, not backfill, is why nothing was queued; None
        without a config) and each pending alert's ``waiting`` and ``held_until``."""
        channels = [{**alert, **self._alert(alert, row["rule"])} for alert in row["channels"]]
        if self.unrouted is None:
            return {**row, "channels": channels, "no_channel": None}
        no_channel = row["rule"] in self.unrouted and not row["channels"]
        baseline = row["baseline"] and not no_channel
        return {**row, "channels": channels, "no_channel": no_channel, "baseline": baseline}

    def _alert(self, alert: dict[str, Any], rule: str) -> dict[str, Any]:
        """``waiting`` and ``held_until`` of one alert of ``rule``: its channel disabled,
        or held by quiet hours if it is not yet in a message; None for both when it
        waits for nothing but its turn or its next attempt."""
        from monitor.store.codec import ts

        channel = alert["channel"]
        if alert["status"] != "pending":
            return {"waiting": None, "held_until": None}
        if waiting := channel_waiting(channel, self.channels, self.disabled.get(channel)):
            return {"waiting": waiting, "held_until": None}
        hold = None if alert["message_id"] else self.holds.get(channel)
        if hold is None or rule in hold.urgent_rules:
            return {"waiting": None, "held_until": None}
        return {"waiting": hold.text(with_urgent=False), "held_until": ts(hold.until)}
