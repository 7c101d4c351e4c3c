"""``news-monitor history``: every match, newest first, and where each alert went.

The analyst's "why did I (not) get this?": per match the rule, feed, title, link,
its story (and the copies folded into it) and per channel pending, sent (when,
message id) or failed (why). ``--message ID`` shows what one message carried. Reads
the state read-only (:mod:`monitor.store.history`: ``state_dir``'s SQLite file, or the
PostgreSQL database of ``store:``); times are UTC. Links, feed URLs
and errors go through :func:`~monitor.redact.redact_url`; the CLI's stdout filters
control characters (:mod:`monitor.terminal`).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.config import MonitorConfig, parse_duration
from monitor.errors import MonitorError
from monitor.redact import error_line, redact_url

if TYPE_CHECKING:
    from monitor.store.history import Filters

BASELINE_NOTE = "not alerted (first poll baseline: backfill, see docs/configuration.md#backfill)"


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
    (exit 2) for a bad option, when there is no state (nothing is created) or when the
    database cannot be read.
    """
    filters = _filters(args, config)
    from monitor.store.history import list_matches, message  # on use
    from monitor.store.readonly import open_for_reading

    conn, where = open_for_reading(config)
    try:
        if args.message:
            found = message(conn, args.message)
            if found is None:
                print(f"no message {args.message!r} in {where}")
                return 1
            _show_message(_redacted_message(found, config), args.json)
            return 0
        rows, more = list_matches(conn, filters)
    except _read_errors(config) as exc:  # damaged after it opened: one line, no traceback
        raise MonitorError(f"cannot read the state in {where}: {error_line(exc)}") from None
    finally:
        conn.close()
    unrouted = {r.name for r in config.rules if not config.rule_channels(r)}
    rows = [_unrouted(_redacted(r, config), unrouted) for r in rows]
    if args.json:
        print(json.dumps({"matches": rows, "more": more}, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(_match_text(row))
    if more:
        print(f"... {more} older matches not shown (--limit, --since)")
    if not rows:
        print("no matches" + (" with these filters" if _filtered(args) else ""))
    return 0


def _read_errors(config: MonitorConfig) -> tuple[type[Exception], ...]:
    """The database errors a read can raise once the state is open (psycopg's only
    with ``store:``: it is an optional extra)."""
    if config.store is None:
        return (sqlite3.DatabaseError,)
    import psycopg

    return (sqlite3.DatabaseError, psycopg.Error)


def _filters(args: argparse.Namespace, config: MonitorConfig) -> Filters:
    """The query's filters from the options; MonitorError for a value that cannot be."""
    since = None
    if args.since:
        try:
            since = datetime.now(UTC) - parse_duration(args.since)
        except ValueError as exc:
            raise MonitorError(f"--since: {exc}") from None
    if args.limit < 1:
        raise MonitorError("--limit must be 1 or more")
    routed: tuple[str, ...] = ()
    if args.channel:
        if args.channel not in config.channels:
            raise MonitorError(
                f"unknown channel {args.channel!r} (channels: {', '.join(config.channels)})"
            )
        routed = tuple(r.name for r in config.rules if args.channel in config.rule_channels(r))
    from monitor.store.history import Filters

    return Filters(since, args.rule, args.channel, routed, args.limit)


def _filtered(args: argparse.Namespace) -> bool:
    return bool(args.since or args.rule or args.channel)


def _feed_names(config: MonitorConfig) -> dict[str, str]:
    return {f.key: f.display_name for f in config.feeds}


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


def _redacted(row: dict[str, Any], config: MonitorConfig) -> dict[str, Any]:
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


def _redacted_message(found: dict[str, Any], config: MonitorConfig) -> dict[str, Any]:
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


def _unrouted(row: dict[str, Any], unrouted: set[str]) -> dict[str, Any]:
    """``row`` with ``no_channel``: its rule is one of ``unrouted``, the rules that
    notify no channel (``notify: []``, or no channels at all), which, not backfill, is
    why nothing was queued for it."""
    no_channel = row["rule"] in unrouted and not row["channels"]
    return {**row, "no_channel": no_channel, "baseline": row["baseline"] and not no_channel}


def _match_text(row: dict[str, Any]) -> str:
    """One match as text: a header line, the item, its story, one line per channel."""
    story = row["story"]
    lines = [
        f"{row['when']}  rule {row['rule']}  feed {row['feed']['name']}",
        f"  {row['title'] or '(no title)'}",
        f"  {row['link'] or '(no link)'}",
    ]
    lines += _story_lines(story)
    if row["no_channel"]:
        lines.append("  not alerted: the rule notifies no channel")
    elif not row["channels"]:
        lines.append("  " + (BASELINE_NOTE if row["baseline"] else "not alerted: no alert queued"))
    lines += [f"  {c['channel']}: {_outcome(c)}" for c in row["channels"]]
    return "\n".join(lines)


def _story_lines(story: dict[str, Any]) -> list[str]:
    role = "first report" if story["first"] else "a copy folded into it"
    lines = [f"  story {story['id']} ({role}; {_count(story['copies_total'], 'other item')})"]
    lines += [
        f"    also: {c['feed']['name']}: {c['title'] or '(no title)'}" for c in story["copies"]
    ]
    if story["copies_total"] > len(story["copies"]):
        lines.append(f"    ... and {story['copies_total'] - len(story['copies'])} more")
    return lines


def _outcome(alert: dict[str, Any]) -> str:
    """What happened to one alert on its channel."""
    if alert["status"] == "sent":
        return f"sent {alert['sent_at']}, message {alert['message_id']}"
    if alert["status"] == "failed":
        return (
            f"FAILED {alert['failed_at']}, message {alert['message_id']}: "
            f"{alert['last_error'] or 'no reason recorded'}"
        )
    text = f"pending since {alert['queued_at']}"
    if alert["attempts"]:
        text += (
            f", {_count(alert['attempts'], 'attempt')}, next {alert['next_attempt']}, "
            f"message {alert['message_id']}; last error: {alert['last_error']}"
        )
    return text


def _show_message(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"message": found}, ensure_ascii=False, indent=2))
        return
    when = found["sent_at"] or found["failed_at"] or found["next_attempt"]
    print(f"message {found['id']}  channel {found['channel']}  {found['status'].upper()} {when}")
    print(f"  created {found['created_at']}, {_count(found['attempts'], 'attempt')}")
    if found["answer"]:
        print(f"  answer: {found['answer']}")
    if found["last_error"]:
        print(f"  last error: {found['last_error']}")
    print(
        f"  {len(found['stories'])} stories"
        + (f" ({found['held_back']} held back for the next message)" if found["held_back"] else "")
    )
    for s in found["stories"]:
        print(f"  - {s['title'] or '(no title)'} [{', '.join(s['rules'])}]")
        print(f"    {s['feed']['name'] if s['feed'] else '-'}: {s['link'] or '(no link)'}")
        print("\n".join("  " + line for line in _story_lines(s["story"])))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
