"""Who polls which feed: leases, claims and fenced commits (issue 17).

Several instances share one database. A feed is polled by the instance that *claims* it:
the claim sets ``lease_owner``, bumps ``lease_epoch`` and sets ``lease_until``, and moves
``next_poll`` to the lease's end, so a poll whose instance died is due again by itself
when the lease runs out. A poll's writes commit only while its claim still holds: the
outermost ``Store.transaction()`` of a task that set :data:`current_claim` first runs

    UPDATE feeds SET lease_until = lease_until WHERE url = ? AND lease_owner = ?
                                                  AND lease_epoch = ?

and 0 rows (another instance claimed the feed since) rolls it back with
:class:`LeaseLost`: a stale owner writes nothing. On PostgreSQL that row stays locked
until the commit, so no claim can take the feed in between.

Leases are measured in the database's clock on PostgreSQL (``now()``) and in Python's
UTC clock on SQLite (one machine, one clock). On SQLite timestamps are stored to the
second, a lease's end rounded up: a lease lasts at least what was asked, at most one
second more. Ownership is trivial with one instance, and without ``store.owner`` set
nothing here runs at all.

Channel leases, periodic ticks and heartbeats are in :mod:`monitor.store.cluster`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import StateDatabaseError
from monitor.store.codec import parse_ts, ts, ts_not_before


@dataclass(frozen=True)
class Claim:
    """A feed this instance holds: its key, the claim's epoch and the lease's end (UTC)."""

    url: str
    epoch: int
    lease_until: datetime


class LeaseLost(StateDatabaseError):
    """A fenced commit was refused: another instance claimed the feed since (nothing
    was written; the transaction rolled back)."""


current_claim: ContextVar[Claim | None] = ContextVar("current_claim", default=None)
"""The claim of the poll running in this task; set it before the poll's writes so that
their transactions are fenced (asyncio tasks and ``contextvars.copy_context`` carry it)."""

_fenced = 0
_fenced_lock = threading.Lock()


def fenced_commits() -> int:
    """How many fenced commits were refused in this process (for metrics; should stay 0:
    more means polls outlived their leases)."""
    return _fenced


def fence(store: Any) -> None:
    """The first statement of an outermost transaction of a store with an ``owner``
    (called by ``Store.transaction()`` right after it began): when :data:`current_claim`
    is set, lock the feed's row only if this owner still holds that claim's epoch.

    Raises LeaseLost when it does not (the caller rolls the transaction back).
    """
    claim = current_claim.get()
    if claim is None:
        return
    row = store.conn.execute(
        "UPDATE feeds SET lease_until = lease_until"
        " WHERE url = ? AND lease_owner = ? AND lease_epoch = ? RETURNING lease_epoch",
        (claim.url, store.owner, claim.epoch),
    ).fetchone()
    if row is None:
        global _fenced
        with _fenced_lock:
            _fenced += 1
        raise LeaseLost(f"feed {claim.url!r}: lease epoch {claim.epoch} lost to another instance")


@contextmanager
def unfenced(store: Any) -> Iterator[None]:
    """A ``store.transaction()`` that is not fenced by :data:`current_claim` (the lease
    statements themselves: a renewal decides by its own WHERE whether it still holds)."""
    token = current_claim.set(None)
    try:
        with store.transaction():
            yield
    finally:
        current_claim.reset(token)


def is_postgres(store: Any) -> bool:
    """Whether ``store`` is the PostgreSQL store (``dialect``; the SQLite store may lack it)."""
    return getattr(store, "dialect", "sqlite") == "postgresql"


def clock() -> datetime:
    """Python's UTC clock, which SQLite leases are measured in."""
    return datetime.now(UTC)


def clock_sql(store: Any, seconds: float = 0.0) -> tuple[str, str]:
    """SQL expressions for "now" and "now + ``seconds``" in the lease clock: ``now()`` on
    PostgreSQL; on SQLite, literals of Python's UTC clock (stored text, the second one
    rounded up). Only values made here are put into SQL. Raises ValueError for a
    ``seconds`` that is not finite."""
    seconds = float(seconds)
    if not math.isfinite(seconds):
        raise ValueError(f"not a duration: {seconds}")
    if is_postgres(store):
        return "now()", f"(now() + make_interval(secs => {seconds!r}))"
    now = clock()
    return f"'{ts(now)}'", f"'{ts_not_before(now + timedelta(seconds=seconds))}'"


def ensure_feeds(store: Any, feeds: Sequence[tuple[str, str]], now: datetime) -> None:
    """Make a row for each configured feed, ``(key, name)``, that has none yet: due at
    ``now`` (UTC). Existing rows, their names and schedules included, are untouched."""
    with unfenced(store):
        store.conn.executemany(
            "INSERT INTO feeds (url, name, next_poll) VALUES (?, ?, ?)"
            " ON CONFLICT (url) DO NOTHING",
            [(key, name, ts(now)) for key, name in feeds],
        )


def claim_feeds(
    store: Any, owner: str, keys: Sequence[str] | None, limit: int, lease: float
) -> list[Claim]:
    """Claim up to ``limit`` due feeds for ``owner`` for ``lease`` seconds, oldest first.

    Due: ``next_poll`` reached, not gone (HTTP 410), key in ``keys`` (None: any key), and
    no lease or an expired one. Each claimed feed gets ``lease_owner = owner``, its epoch
    plus one, ``lease_until`` and ``next_poll`` at now + ``lease`` (so a crashed poll is
    due again by itself). Concurrent claimers never get the same feed: on PostgreSQL one
    statement with ``FOR UPDATE SKIP LOCKED`` and ``now()``; on SQLite one IMMEDIATE
    transaction. Returns the claims, the feed due first first.
    """
    if limit <= 0 or (keys is not None and not keys):
        return []
    if is_postgres(store):
        return _claim_postgres(store, owner, keys, limit, lease)
    now, until = clock_sql(store, lease)
    wanted = "" if keys is None else " AND url IN (SELECT value FROM json_each(?))"
    with unfenced(store):
        urls = [
            r[0]
            for r in store.conn.execute(
                f"SELECT url FROM feeds WHERE next_poll <= {now} AND gone_at IS NULL"
                f" AND (lease_owner IS NULL OR lease_until <= {now})"
                f"{wanted} ORDER BY next_poll, url LIMIT ?",
                ([] if keys is None else [json.dumps(list(keys))]) + [limit],
            )
        ]
        rows = store.conn.execute(
            f"UPDATE feeds SET lease_owner = ?, lease_epoch = lease_epoch + 1,"
            f" lease_until = {until}, next_poll = {until}"
            " WHERE url IN (SELECT value FROM json_each(?))"
            " RETURNING url, lease_epoch, lease_until",
            (owner, json.dumps(urls)),
        ).fetchall()
    order = {url: n for n, url in enumerate(urls)}
    return sorted((_claim(r) for r in rows), key=lambda c: order[c.url])


def _claim_postgres(
    store: Any, owner: str, keys: Sequence[str] | None, limit: int, lease: float
) -> list[Claim]:
    """:func:`claim_feeds` on PostgreSQL: one statement; rows another claimer has locked
    are skipped, not waited for."""
    now, until = clock_sql(store, lease)
    wanted = "" if keys is None else " AND url = ANY(?)"
    with unfenced(store):
        rows = store.conn.execute(
            f"WITH due AS (SELECT url, next_poll FROM feeds WHERE next_poll <= {now}"
            f" AND gone_at IS NULL AND (lease_owner IS NULL OR lease_until <= {now}){wanted}"
            " ORDER BY next_poll LIMIT ? FOR UPDATE SKIP LOCKED)"
            " UPDATE feeds f SET lease_owner = ?, lease_epoch = f.lease_epoch + 1,"
            f" lease_until = {until}, next_poll = {until} FROM due WHERE f.url = due.url"
            " RETURNING f.url, f.lease_epoch, f.lease_until, due.next_poll",
            ([] if keys is None else [list(keys)]) + [limit, owner],
        ).fetchall()
    rows.sort(key=lambda r: (r[3], r[0]))
    return [_claim(r) for r in rows]


def renew_feed(store: Any, owner: str, claim: Claim, lease: float) -> Claim | None:
    """Extend ``claim`` to now + ``lease`` seconds (``next_poll`` at least as late); the
    renewed claim (same epoch), or None when ``owner`` lost it to another instance. An
    expired lease that nobody claimed since is renewed: nobody else wrote."""
    _, until = clock_sql(store, lease)
    later = "GREATEST" if is_postgres(store) else "MAX"
    sql = (
        f"UPDATE feeds SET lease_until = {until}, next_poll = {later}(COALESCE(next_poll,"
        f" {until}), {until}) WHERE url = ? AND lease_owner = ? AND lease_epoch = ?"
        " RETURNING url, lease_epoch, lease_until"
    )
    params = (claim.url, owner, claim.epoch)
    with unfenced(store):
        row = store.conn.execute(sql, params).fetchone()
    return _claim(row) if row else None


def release_feed(store: Any, owner: str, claim: Claim) -> bool:
    """Give ``claim`` up (the poll finished or failed): the lease is cleared, ``next_poll``
    kept as stored (the poll's own, or the lease's end when it recorded nothing). Whether
    ``owner`` still held it (False: another instance claimed it since; nothing changed)."""
    with unfenced(store):
        row = store.conn.execute(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL"
            " WHERE url = ? AND lease_owner = ? AND lease_epoch = ? RETURNING url",
            (claim.url, owner, claim.epoch),
        ).fetchone()
    return row is not None


def as_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime: SQLite's text or PostgreSQL's
    ``timestamptz``. Raises ValueError for None (a lease always has an end)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    moment = parse_ts(value)
    if moment is None:
        raise ValueError("a lease without an end")
    return moment


def _claim(row: Any) -> Claim:
    return Claim(url=row[0], epoch=row[1], lease_until=as_utc(row[2]))
