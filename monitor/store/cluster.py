"""Several instances on one database: channel leases, once-per-cluster ticks, membership.

A channel is delivered by one instance at a time: the holder of its lease (a row of
``channel_leases``; its epoch grows each time it changes hands). A periodic job that must
run once in the cluster (pruning, start-up data fixes) asks :func:`tick_due`, which is
true for exactly one caller per period. Instances heartbeat into ``instances`` for
``status`` and metrics, never for correctness: leases decide. Times as in
:mod:`monitor.store.leases`: ``now()`` on PostgreSQL, Python's UTC clock on SQLite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.store.fencing import unfenced
from monitor.store.leases import as_utc, clock_sql

GONE_AFTER = 30.0
"""Seconds without a heartbeat after which an instance is listed as gone."""

FORGET_AFTER = 86400.0
"""Seconds without a heartbeat after which an instance's row is deleted."""


@dataclass(frozen=True)
class Instance:
    """A registered instance: its id, when it started and last beat (UTC), what it said
    about itself (``info``: host, pid, version ...) and whether it is gone (no heartbeat
    for :data:`GONE_AFTER` seconds)."""

    owner: str
    started_at: datetime
    heartbeat_at: datetime
    info: dict
    gone: bool


@dataclass(frozen=True)
class Lease:
    """A lease as ``status`` shows it: ``kind`` "feed" or "channel", the feed's key or
    channel's name, its holder and epoch, its end (UTC), and whether it ran out."""

    kind: str
    key: str
    owner: str
    epoch: int
    until: datetime
    stale: bool


def take_channel(store: Any, owner: str, channel: str, lease: float) -> int | None:
    """Take or renew the lease of ``channel`` for ``owner`` for ``lease`` seconds: when it
    is free, expired or already ``owner``'s. Its epoch (the same while ``owner`` keeps it,
    one more each time it changes hands), or None while another instance holds it."""
    now, until = clock_sql(store, lease)
    with unfenced(store):
        cursor = store.conn.execute(
            "INSERT INTO channel_leases (channel, owner, epoch, lease_until)"
            f" VALUES (?, ?, 1, {until}) ON CONFLICT (channel) DO UPDATE SET"
            " epoch = CASE WHEN channel_leases.owner = excluded.owner"
            " THEN channel_leases.epoch ELSE channel_leases.epoch + 1 END,"
            " owner = excluded.owner, lease_until = excluded.lease_until"
            " WHERE channel_leases.owner IS NULL OR channel_leases.owner = excluded.owner"
            f" OR channel_leases.lease_until <= {now}",
            (channel, owner),
        )
        if cursor.rowcount != 1:
            return None
        return store.conn.execute(
            "SELECT epoch FROM channel_leases WHERE channel = ?", (channel,)
        ).fetchone()[0]


def holds_channel(store: Any, owner: str, channel: str, epoch: int) -> bool:
    """Whether ``owner`` still holds ``channel`` at ``epoch`` with its lease running (checked
    when a message is formed, so an instance that stalled past its lease sends nothing)."""
    now, _ = clock_sql(store)
    row = store.conn.execute(
        "SELECT 1 FROM channel_leases WHERE channel = ? AND owner = ? AND epoch = ?"
        f" AND lease_until > {now}",
        (channel, owner, epoch),
    ).fetchone()
    return row is not None


def release_channel(store: Any, owner: str, channel: str) -> bool:
    """Give up ``owner``'s lease of ``channel`` so another instance takes it at once;
    whether ``owner`` held it."""
    with unfenced(store):
        cursor = store.conn.execute(
            "UPDATE channel_leases SET owner = NULL, lease_until = NULL"
            " WHERE channel = ? AND owner = ?",
            (channel, owner),
        )
        return cursor.rowcount == 1


def tick_due(store: Any, name: str, every: float) -> bool:
    """Whether the periodic job ``name`` is due, for exactly one caller in the cluster per
    period of ``every`` seconds: the one whose statement found it due (or never run) and
    moved its next time to now + ``every`` in the same statement."""
    now, until = clock_sql(store, every)
    with unfenced(store):
        cursor = store.conn.execute(
            f"INSERT INTO ticks (name, next_at) VALUES (?, {until}) ON CONFLICT (name)"
            f" DO UPDATE SET next_at = excluded.next_at WHERE ticks.next_at <= {now}",
            (name,),
        )
        return cursor.rowcount == 1


def release_all(store: Any, owner: str) -> int:
    """Give up every feed and channel lease of ``owner`` and unregister it (SIGTERM), so
    other instances take its work at once; how many leases were released.

    A feed whose poll did not finish (``next_poll`` still the lease's end, as the claim or
    a renewal set it) is due at once; a finished poll keeps the next poll it recorded.
    """
    now, _ = clock_sql(store)
    with unfenced(store):
        feeds = store.conn.execute(
            f"UPDATE feeds SET next_poll = CASE WHEN next_poll = lease_until THEN {now}"
            " ELSE next_poll END, lease_owner = NULL, lease_until = NULL"
            " WHERE lease_owner = ?",
            (owner,),
        ).rowcount
        channels = store.conn.execute(
            "UPDATE channel_leases SET owner = NULL, lease_until = NULL WHERE owner = ?",
            (owner,),
        ).rowcount
        store.conn.execute("DELETE FROM instances WHERE owner = ?", (owner,))
    return feeds + channels


def heartbeat(store: Any, owner: str, info: dict) -> None:
    """Register ``owner`` or refresh its heartbeat, with ``info`` (JSON-able, no secrets:
    ``status`` shows it); instances silent for :data:`FORGET_AFTER` seconds are deleted."""
    now, _ = clock_sql(store)
    _, forget = clock_sql(store, -FORGET_AFTER)
    with unfenced(store):
        store.conn.execute(
            "INSERT INTO instances (owner, started_at, heartbeat_at, info)"
            f" VALUES (?, {now}, {now}, ?) ON CONFLICT (owner) DO UPDATE SET"
            " heartbeat_at = excluded.heartbeat_at, info = excluded.info",
            (owner, json.dumps(info, sort_keys=True)),
        )
        store.conn.execute(f"DELETE FROM instances WHERE heartbeat_at < {forget}")


def instances(store: Any) -> list[Instance]:
    """Every registered instance, the most recent heartbeat first, gone ones marked."""
    _, gone = clock_sql(store, -GONE_AFTER)
    rows = store.conn.execute(
        f"SELECT owner, started_at, heartbeat_at, info, heartbeat_at < {gone}"
        " FROM instances ORDER BY heartbeat_at DESC, owner"
    ).fetchall()
    return [Instance(r[0], as_utc(r[1]), as_utc(r[2]), json.loads(r[3]), bool(r[4])) for r in rows]


def lease_table(store: Any) -> list[Lease]:
    """Who holds which feed and channel and until when, expired ones marked stale (for
    ``status``): feeds first, each kind by key."""
    now, _ = clock_sql(store)
    rows = store.conn.execute(
        f"SELECT 'feed', url, lease_owner, lease_epoch, lease_until, lease_until <= {now}"
        " FROM feeds WHERE lease_owner IS NOT NULL"
        f" UNION ALL SELECT 'channel', channel, owner, epoch, lease_until, lease_until <= {now}"
        " FROM channel_leases WHERE owner IS NOT NULL ORDER BY 1 DESC, 2"
    ).fetchall()
    return [Lease(r[0], r[1], r[2], r[3], as_utc(r[4]), bool(r[5])) for r in rows]
