"""Digest ticks kept in the database, so each fires once among several instances.

A scheduled channel's next digest tick is a row of ``ticks`` keyed ``digest:<channel>``
(a :class:`DigestTick` names it). The outbox reads it and moves it on inside the
transaction that forms the channel's message (:meth:`monitor.store.outbox.Outbox.next_message`
calls :func:`take_tick`), by compare-and-set on the value read: one instance wins each
tick, the others find it moved, and an instance taking the lease after a missed tick
forms it at once (late rather than never).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.store.codec import parse_ts, ts, ts_not_before
from monitor.store.dialect import Connection

NEVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The tick stored for a ``cron:`` schedule that fires no more (30 February)."""

TICK_SKEW = timedelta(seconds=60)
"""How far apart instances' clocks may be before a stored tick looks moved by a reload."""


def tick_name(channel: str) -> str:
    """The name of ``channel``'s digest tick: its row of ``ticks`` (``digest:<channel>``)."""
    return f"digest:{channel}"


@dataclass(frozen=True)
class DigestTick:
    """A scheduled channel's digest tick kept in the database (several instances).

    ``name`` keys its row of ``ticks`` (``digest:<channel>``); ``following(last, now)``
    is the first tick strictly after ``now`` (UTC) in the phase of the tick ``last``
    (None: of the schedule alone, from ``now``).
    """

    name: str
    following: Callable[[datetime | None, datetime], datetime]


def take_tick(conn: Connection, tick: DigestTick, now: datetime) -> bool:
    """In the forming transaction: whether the stored tick is due at ``now`` (UTC),
    moving it to the next one if so.

    Compare-and-set on the value read: one caller in the cluster wins each tick, the
    others find it moved. A missing row is created at the schedule's next tick (and
    False returned); one later than the schedule's next tick after now +
    :data:`TICK_SKEW` (the schedule changed, or the wall clock went back) is moved back
    to the next tick. Must run inside the caller's transaction; raises what the
    connection raises.
    """
    row = conn.execute("SELECT next_at FROM ticks WHERE name = ?", (tick.name,))
    stored = (row.fetchone() or (None,))[0]
    fresh = ts_not_before(tick.following(None, now))
    if stored is None:
        conn.execute(
            "INSERT INTO ticks (name, next_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (tick.name, fresh),
        )
        return False
    due = stored <= (ts(now) or "")
    # Another instance's clock a little ahead stored the next tick early: not a change.
    if not due and stored <= ts_not_before(tick.following(None, now + TICK_SKEW)):
        return False
    moved = ts_not_before(tick.following(parse_ts(stored), now)) if due else fresh
    cursor = conn.execute(
        "UPDATE ticks SET next_at = ? WHERE name = ? AND next_at = ?",
        (moved, tick.name, stored),
    )
    return due and cursor.rowcount == 1


def tick_at(conn: Connection, name: str) -> datetime | None:
    """When the stored tick ``name`` (a :class:`DigestTick`'s) is due next, UTC; None
    before its channel's first round with several instances."""
    row = conn.execute("SELECT next_at FROM ticks WHERE name = ?", (name,)).fetchone()
    return parse_ts(row[0]) if row else None


def owed_name(channel: str) -> str:
    """The row of ``ticks`` that says ``channel`` owes a digest (``owed:<channel>``)."""
    return f"owed:{channel}"


def owe_tick(store: Any, channel: str, at: datetime) -> None:
    """One instance: ``channel``'s digest tick at ``at`` (UTC) fell in its quiet hours
    and formed nothing; it is owed until a round after the window forms the digest
    (:func:`pay_tick`). Kept in the database, so a restart meanwhile keeps the debt.
    ``store``: a :class:`~monitor.store.sqlite.Store` (its own transaction)."""
    with store.transaction():
        store.conn.execute(
            "INSERT INTO ticks (name, next_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (owed_name(channel), ts(at)),
        )


def tick_owed(store: Any, channel: str) -> bool:
    """Whether ``channel`` owes a digest (:func:`owe_tick`)."""
    row = store.conn.execute("SELECT 1 FROM ticks WHERE name = ?", (owed_name(channel),))
    return row.fetchone() is not None


def pay_tick(store: Any, channel: str) -> None:
    """``channel``'s owed digest was formed (or there was nothing to form)."""
    with store.transaction():
        store.conn.execute("DELETE FROM ticks WHERE name = ?", (owed_name(channel),))
