"""The parts of ``news-monitor status`` beyond the counts: the config's health, each
channel's next digest, the store (where, how big, and on PostgreSQL which instances
share it and who holds which lease), and a report from the database alone when the
config on disk is broken (the daemon keeps running on the config it loaded before).

The cluster part (the store's place, the instances and their leases, and their lines)
is :mod:`monitor.cli.clusterinfo`.

APScheduler (cron arithmetic) is imported only for a ``cron:`` channel's next digest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.cli.clusterinfo import cluster_lines
from monitor.cli.messages import count, disabled_waiting
from monitor.cli.progress import Progress
from monitor.config.channels import ChannelBase
from monitor.config.values import format_duration
from monitor.notify.timing import Hold
from monitor.redact import redact_url
from monitor.store.codec import parse_ts
from monitor.store.digestticks import NEVER, tick_name
from monitor.store.history import split_baseline
from monitor.store.outbox import Outbox
from monitor.store.sqlite import Store
from monitor.store.status import (
    channel_summary,
    config_reload,
    dead_letters,
    last_message_at,
    rule_counts,
    storage,
)

BANNER_TAIL = "(the daemon runs on the config it loaded before; fix and reload)"
MAX_BANNER_ISSUES = 20  # lines of a config error shown; the rest are counted
MIN_ITEMS_PER_ITEM_COST = 1000  # below this, bytes per item is mostly SQLite's own pages


def next_digest(
    store: Store,
    name: str,
    channel: ChannelBase,
    now: datetime,
    hold: Hold | None = None,
    disabled: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """When ``channel`` next sends a digest, in its time zone; first what stops it.

    A channel its destination disabled (``disabled``: ``status``'s ``since`` and
    ``reason``) sends nothing until ``retry``; one its quiet hours hold now (``hold``,
    :func:`monitor.notify.timing.held`) sends only urgent rules' alerts until the window
    ends (``held_until``, UTC), whatever its schedule (:func:`_stopped`).

    ``cron:`` is the next fire time of the schedule in the channel's ``timezone``
    (the daemon's own trigger, :func:`monitor.config.crontab.cron_trigger`); ``every:``
    ticks count from the daemon's start, which the database does not keep, so the next
    tick is estimated from the channel's last message (``approximate``); ``immediate``
    has no digest.
    Several instances keep each scheduled channel's next tick in the database
    (:mod:`monitor.store.digestticks`): when it is there, it is shown exactly, as the
    instances will fire it ("due since" when none has yet: the next round forms it); a
    ``cron:`` schedule that fires no more (its stored tick :data:`NEVER`) says so.
    Keys: ``next`` (aware datetime or None), ``timezone``, ``text`` (for people), and
    ``held_until`` (aware UTC datetime, or None).
    """
    planned = _scheduled(store, name, channel, now)
    return {**planned, "held_until": hold and hold.until, **_stopped(name, hold, disabled)}


def _stopped(name: str, hold: Hold | None, disabled: dict[str, Any] | None) -> dict[str, Any]:
    """The ``text`` of a next digest that something stops, or nothing to change."""
    if disabled:
        return {"text": disabled_waiting(name, disabled.get("reason"))}
    if hold is None:
        return {}
    return {"text": hold.text()}


def _scheduled(store: Store, name: str, channel: ChannelBase, now: datetime) -> dict[str, Any]:
    """:func:`next_digest` as the schedule alone has it."""
    tz = channel.timezone
    schedule = channel.schedule
    stored = Outbox(store).tick_at(tick_name(name)) if schedule.kind != "immediate" else None
    if stored is not None and stored < NEVER:
        fire = stored.astimezone(ZoneInfo(tz))
        text = ("due since " if stored <= now else "") + _when(fire, tz)
        return {"next": fire, "timezone": tz, "approximate": False, "text": text}
    if schedule.kind == "cron" and schedule.cron:
        from monitor.config.crontab import cron_trigger

        trigger = cron_trigger(schedule.cron, ZoneInfo(tz))
        fire = trigger.get_next_fire_time(None, now.astimezone(ZoneInfo(tz)))
        return {"next": fire, "timezone": tz, "approximate": False, "text": _when(fire, tz)}
    if schedule.kind == "every" and schedule.every:
        last = last_message_at(store, name)
        if last is None:
            text = f"every {format_duration(schedule.every)} from the daemon's start"
            return {"next": None, "timezone": tz, "approximate": True, "text": text}
        steps = max(1, -(-(now - last) // schedule.every))
        fire = (last + steps * schedule.every).astimezone(ZoneInfo(tz))
        return {"next": fire, "timezone": tz, "approximate": True, "text": "~" + _when(fire, tz)}
    return {"next": None, "timezone": tz, "approximate": False, "text": "immediate"}


def local_time(stamp: str | datetime | None, tz: str, missing: str = "never") -> str:
    """A UTC time, stored (``2026-11-30T07:55:18Z``) or aware, as ``2026-11-30 16:55:18
    KST`` in ``tz`` (an IANA name; the config's ``timezone``), or ``missing`` when there
    is none. To the second: a feed polled every 20 s has its last success and next poll
    in the same minute. (A next digest, on a schedule's minutes, is :func:`_when`'s.)

    Only the text of ``status`` shows local time; ``--json`` keeps UTC (issue #15).
    """
    moment = parse_ts(stamp) if isinstance(stamp, str) else stamp
    if moment is None:
        return missing
    local = moment.astimezone(ZoneInfo(tz))
    zone = local.strftime("%Z")
    name = zone if zone and zone[0] not in "+-" else f"{zone} ({tz})"
    return f"{local:%Y-%m-%d %H:%M:%S} {name}"


def last_error_line(
    error: str, at: str | datetime | None, success: str | datetime | None, tz: str
) -> str:
    """``status``'s line for a feed's or channel's last error: when it was met (in
    ``tz``), and ``(before the last success)`` when ``success`` (the feed's last
    success, the channel's last message sent) came after it: a past error, kept for
    the record, that needs nothing done. ``at`` None: its time was not recorded."""
    moment = parse_ts(at) if isinstance(at, str) else at
    after = parse_ts(success) if isinstance(success, str) else success
    when = local_time(moment, tz, "(time not recorded)")
    if after is not None and (moment is None or after >= moment):  # stored to the second
        when += " (before the last success)"
    return f"last error {when}: {error}"


def _when(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "never (the schedule has no next time)"
    return f"{moment:%Y-%m-%d %H:%M %Z} ({tz})"


def config_state(store: Store) -> dict[str, Any]:
    """The daemon's config as the database records it: ``loaded_at`` and, when the last
    reload failed, ``reload_failed_at`` and ``reload_errors`` (redacted lines)."""
    record = config_reload(store)
    return {
        "loaded_at": record["loaded_at"],
        "reload_failed_at": record["failed_at"],
        "reload_errors": record["errors"].splitlines() if record["errors"] else [],
    }


def storage_line(info: dict[str, Any]) -> str:
    """``status``'s line for :func:`storage`: ``STATE 7.8 MB, 12,236 items, 651 bytes
    per item`` (on PostgreSQL ``STATE 7.8 MB in tables and indexes, …``). Below
    :data:`MIN_ITEMS_PER_ITEM_COST` items the size is mostly the database's fixed pages,
    so the bytes per item (still in ``--json``) are said to be not meaningful yet."""
    per_item = info["bytes_per_item"]
    where = " in tables and indexes" if "tables" in info else ""
    items = count(info["items"], "item", grouped=True)
    if per_item is not None and info["items"] < MIN_ITEMS_PER_ITEM_COST:
        return (
            f"STATE {info['db_bytes'] / 1e6:.1f} MB{where}, {items} (bytes per item not "
            f"meaningful below {MIN_ITEMS_PER_ITEM_COST:,} items)"
        )
    return f"STATE {info['db_bytes'] / 1e6:.1f} MB{where}, {items}" + (
        f", {per_item:,} bytes per item" if per_item is not None else ""
    )


def report_from_store(store: Store, now: datetime) -> dict[str, Any]:
    """``status`` without a config: feeds, rules and channels as the database knows them
    (feeds ever polled, rules that ever matched, channels that ever queued an alert)."""
    feeds = [
        {
            "name": s.name,
            "url": redact_url(s.url),
            "state": _feed_state(s.consecutive_failures, s.gone_at, s.last_success),
            "last_success": s.last_success,
            "last_error": s.last_error,
            "last_error_at": s.last_error_at,
            "parse_warning": s.parse_warning,
            "parse_warning_at": s.parse_warning_at,
            "consecutive_failures": s.consecutive_failures,
            "next_poll": s.next_poll,
            "items_seen": s.items_seen,
            "disabled_since": s.gone_at,
        }
        for s in store.feeds()
    ]
    counts = split_baseline(store.conn, rule_counts(store, now), now)
    # channels None: which a rule notifies is in the config, so why a match was not
    # alerted (backfill, or no channel) is not known here
    rules = [
        {"name": name, "query": None, "channels": None, **c} for name, c in sorted(counts.items())
    ]
    channels = []
    unknown = Progress(store.conn, None)  # a channel's type is in the config: none claimed
    for name, summary in sorted(channel_summary(store).items()):
        entry = {"name": name, "pending": 0, "failed": 0, "sent": 0, "last_sent": None}
        entry |= {"disabled": None, "last_error_at": None, "held_until": None}
        channels.append({**entry, **unknown.channel(name, summary), "next_digest": None})
    return {
        "feeds": feeds,
        "rules": rules,
        "channels": channels,
        "dead_letters": [unknown.dead_letter(d) for d in dead_letters(store)],
        "storage": storage(store),
    }


def _feed_state(failures: int, gone_at: datetime | None, last_success: datetime | None) -> str:
    if gone_at:
        return "disabled"
    if failures:
        return "failing"
    return "ok" if last_success else "never polled"


def banner(issues: list[str], tail: str = BANNER_TAIL) -> list[str]:
    """The lines that open ``status`` when the config on disk does not load (``issues``:
    ``FILE:LINE:COL: message`` each): the first with ``tail`` (:data:`BANNER_TAIL`
    for a file that exists but is broken; where the CLI looked, for one not found)."""
    if not issues:
        return []
    lines = [f"CONFIG ERROR: {issues[0]} {tail}"]
    lines += [f"CONFIG ERROR: {issue}" for issue in issues[1:MAX_BANNER_ISSUES]]
    if len(issues) > MAX_BANNER_ISSUES:
        lines.append(f"CONFIG ERROR: … and {len(issues) - MAX_BANNER_ISSUES} more")
    return lines


def reload_banner(config: dict[str, Any]) -> list[str]:
    """The lines that open ``status`` when the daemon's last reload failed."""
    if not config.get("reload_failed_at"):
        return []
    when = config["reload_failed_at"]
    return [f"RELOAD FAILED at {when:%Y-%m-%d %H:%M:%S} UTC {BANNER_TAIL}:"] + [
        f"  {line}" for line in config["reload_errors"][:MAX_BANNER_ISSUES]
    ]


def store_lines(report: dict[str, Any], tz: str) -> list[str]:
    """``status``'s text for the store: ``STORE …``, then on PostgreSQL the instances
    (alive or GONE, last heartbeat in ``tz``, what each holds), fenced commits and the
    stale leases, then the :func:`storage_line`."""
    where = report.get("store")
    lines = []
    if where:
        shown = where["url"] if where["backend"] == "postgresql" else where["path"]
        lines.append(
            f"STORE {'PostgreSQL' if where['backend'] == 'postgresql' else 'SQLite'} {shown}"
        )
    if report.get("cluster") is not None:
        lines += cluster_lines(report["cluster"], lambda moment: local_time(moment, tz))
    if report.get("storage"):
        lines.append(storage_line(report["storage"]))
    return lines
