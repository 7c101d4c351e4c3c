"""Who polls which feed: leases and claims (issue 17).

Several instances share one database. A feed is polled by the instance that *claims* it:
the claim sets ``lease_owner``, bumps ``lease_epoch`` and sets ``lease_until``, and moves
``next_poll`` to the lease's end, so a poll whose instance died is due again by itself
when the lease runs out. A poll's writes commit only while its claim still holds: the
fence, :class:`~monitor.store.fencing.Claim` and ``LeaseLost`` are in
:mod:`monitor.store.fencing`.

Times are stored as text to the second (:mod:`monitor.store.codec`), a lease's end
rounded up: a lease lasts at least what was asked, at most a second more. They are read
from the database's clock on PostgreSQL (``now()``: one clock for every instance) and
from Python's UTC clock on SQLite (one machine). SQLite's side needs no ``RETURNING``
(3.35), so the store's SQLite floor stays 3.30.

Which feeds: the claim takes any due feed, not a list of the configured keys (that list
cost 200-300 ms a claim at 50,000 feeds on PostgreSQL, ~1 ms without). An instance
that claims a feed it does not know *parks* it (:func:`park_feeds`: next poll an hour
ahead, released); :func:`ensure_feeds`, run with the whole config at each start and
reload, makes a parked feed it knows due again. So a removed feed is claimed once an
hour, and a feed added in a rolling config change waits at most until the instances
that know it started or reloaded.

Per-host politeness holds across the cluster: each feed row carries its ``host`` (the
key's host name, as the runtime's per-host semaphore names it), and a claim given
``per_host`` (``ingest.max_per_host``) takes no feed of a host that already has that
many live leases (owner set, ``lease_until`` in the future) in the whole cluster,
counting the feeds it claims itself. On PostgreSQL claims with a limit are serialized
by :data:`CLAIM_LOCK` (a transaction advisory lock taken before the claim's statement,
so its snapshot sees every claim committed before); SQLite's IMMEDIATE transaction
already serializes them.

Channel leases, periodic ticks and heartbeats are in :mod:`monitor.store.cluster`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.store.codec import parse_ts, ts, ts_not_before
from monitor.store.dialect import POSTGRESQL
from monitor.store.fencing import Claim, unfenced
from monitor.store.hosts import feed_host

# PostgreSQL's now() (and now() + seconds, rounded up) as the store's timestamp text.
_PG_TEXT = 'to_char({}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
_PG_NOW = _PG_TEXT.format("now() AT TIME ZONE 'UTC'")
_PG_LATER = _PG_TEXT.format(
    "date_trunc('second', now() AT TIME ZONE 'UTC' + make_interval(secs => {!r})"
    " + interval '999999 microseconds')"
)
CLAIM_LOCK = 0x6E6D5F636C61696D  # "nm_claim": serializes claims with a per-host limit
CANDIDATES = 4  # a claim with a per-host limit looks at this many times ``limit`` due feeds


def clock_sql(store: Any, seconds: float = 0.0) -> tuple[str, str]:
    """SQL for "now" and "now + ``seconds``" (rounded up to the second) as stored text:
    from ``now()`` on PostgreSQL, literals of Python's UTC clock on SQLite. Only values
    made here go into the SQL. Raises ValueError for ``seconds`` that is not finite."""
    seconds = float(seconds)
    if not math.isfinite(seconds):
        raise ValueError(f"not a duration: {seconds}")
    if store.dialect == POSTGRESQL:
        return _PG_NOW, _PG_LATER.format(seconds)
    now = datetime.now(UTC)
    return f"'{ts(now)}'", f"'{ts_not_before(now + timedelta(seconds=seconds))}'"


def ensure_feeds(store: Any, feeds: Sequence[tuple[str, str]], now: datetime) -> None:
    """Make a row for each configured feed, ``(key, name)``, that has none yet: due at
    ``now`` (UTC), and make a feed of them that was parked (:func:`park_feeds`) due at
    ``now`` too. Other rows, their names and schedules included, are untouched (not
    even locked: a claim on another instance never waits for a start). A row an older
    version wrote without a ``host`` gets it at its next claim (:func:`claim_feeds`).

    Called once per start (under the start-up lock) and per reload, with the whole
    config: the one place an instance's key list travels to the database.
    """
    keys = [key for key, _ in feeds]
    stamp = ts(now)
    with unfenced(store):
        store.conn.executemany(
            "INSERT INTO feeds (url, name, next_poll, host) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (url) DO NOTHING",
            [(key, name, stamp, feed_host(key)) for key, name in feeds],
        )
        if not keys:
            return
        wanted, param = _key_list(store, keys)
        store.conn.execute(
            "UPDATE feeds SET next_poll = ?, lease_until = NULL"
            f" WHERE lease_owner IS NULL AND lease_until IS NOT NULL AND {wanted}",
            (stamp, param),
        )


def park_feeds(store: Any, owner: str, claims: Sequence[Claim], seconds: float) -> int:
    """Give up ``claims`` of feeds ``owner`` does not know (not in its config: removed,
    or added to another instance's config first) and push their next poll ``seconds``
    ahead, so no instance claims them again before then; how many were parked (a claim
    ``owner`` lost since is left alone).

    A parked feed has no owner but keeps the park's end in ``lease_until`` (a released
    feed has neither): :func:`ensure_feeds` of an instance that does know it (its start,
    its reload) makes it due at once. A removed feed thus costs one claim per ``seconds``
    instead of riding along in every claim as a key list.
    """
    if not claims:
        return 0
    _, until = clock_sql(store, seconds)
    with unfenced(store):
        return sum(
            store.conn.execute(
                f"UPDATE feeds SET lease_owner = NULL, lease_until = {until}, next_poll = {until}"
                " WHERE url = ? AND lease_owner = ? AND lease_epoch = ?",
                (claim.url, owner, claim.epoch),
            ).rowcount
            for claim in claims
        )


def _key_list(store: Any, keys: Sequence[str]) -> tuple[str, Any]:
    """A ``url`` in ``keys`` condition and its one parameter, for either database."""
    if store.dialect == POSTGRESQL:
        return "url = ANY(?)", list(keys)
    return "url IN (SELECT value FROM json_each(?))", json.dumps(list(keys))


def claim_feeds(
    store: Any,
    owner: str,
    keys: Sequence[str] | None,
    limit: int,
    lease: float,
    per_host: int | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` due feeds for ``owner`` for ``lease`` seconds, oldest first.

    Due: ``next_poll`` reached, not gone (HTTP 410), key in ``keys`` (None: any key), and
    no lease or an expired one. With ``per_host`` (``ingest.max_per_host``), a feed is
    taken only while its host has fewer than ``per_host`` live leases in the cluster,
    the feeds of this claim counted: the claim looks at the :data:`CANDIDATES` x
    ``limit`` oldest due feeds of hosts not yet full and keeps those under the limit
    (a host whose due feeds crowd that window gives fewer than ``limit`` feeds this
    claim; the next one skips it once full). A row without a host (written by an older
    version) is not limited, and gets its host here.

    Each claimed feed gets ``lease_owner = owner``, its epoch plus one, ``lease_until``
    and ``next_poll`` at now + ``lease`` (so a crashed poll is due again by itself).
    Concurrent claimers never get the same feed: on PostgreSQL one statement with ``FOR
    UPDATE SKIP LOCKED`` (rows another claimer holds are skipped, not waited for) after
    :data:`CLAIM_LOCK` when ``per_host`` is set; on SQLite one IMMEDIATE transaction.
    Returns the claims, the feed due first first.

    ``keys`` travels with every claim: at 50,000 keys that costs 200-300 ms a claim on
    PostgreSQL, against ~1 ms with None (bench/cluster.py: 4 claimers, 16 feeds a
    claim). The claim loop passes None and parks the feeds it does not know
    (:func:`park_feeds`).
    """
    if limit <= 0 or (keys is not None and not keys):
        return []
    pg = store.dialect == POSTGRESQL
    now, until = clock_sql(store, lease)
    wanted = (
        ""
        if keys is None
        else (" AND url = ANY(?)" if pg else " AND url IN (SELECT value FROM json_each(?))")
    )
    cap = per_host if per_host is not None else 2**31 - 1
    window = limit * CANDIDATES if per_host is not None else limit
    held = (
        "SELECT host, COUNT(*) AS n FROM feeds WHERE lease_owner IS NOT NULL"
        f" AND lease_until > {now} AND host IS NOT NULL GROUP BY host"
        if per_host is not None
        else "SELECT host, 0 AS n FROM feeds WHERE 1 = 0"  # no limit: nothing to count
    )
    picked = (
        f"WITH held AS ({held}),"
        " due AS (SELECT url, lease_epoch, next_poll, host FROM feeds"
        f" WHERE next_poll <= {now} AND gone_at IS NULL"
        f" AND (lease_owner IS NULL OR lease_until <= {now}){wanted}"
        " AND (host IS NULL OR host NOT IN (SELECT host FROM held WHERE n >= ?))"
        f" ORDER BY next_poll, url LIMIT ?{' FOR UPDATE SKIP LOCKED' if pg else ''}),"
        " ranked AS (SELECT due.*, COALESCE(held.n, 0) + ROW_NUMBER() OVER"
        " (PARTITION BY due.host ORDER BY due.next_poll, due.url) AS nth"
        " FROM due LEFT JOIN held ON held.host = due.host),"
        " picked AS (SELECT url, lease_epoch, next_poll, host FROM ranked"
        " WHERE host IS NULL OR nth <= ? ORDER BY next_poll, url LIMIT ?)"
    )
    params: list[Any] = [] if keys is None else [list(keys) if pg else json.dumps(list(keys))]
    params += [cap, window, cap, limit]
    with unfenced(store):
        if pg:
            if per_host is not None:
                store.conn.execute("SELECT pg_advisory_xact_lock(?)", (CLAIM_LOCK,))
            rows = store.conn.execute(
                f"{picked} UPDATE feeds f SET lease_owner = ?, lease_epoch = f.lease_epoch + 1,"
                f" lease_until = {until}, next_poll = {until} FROM picked"
                " WHERE f.url = picked.url RETURNING f.url, f.lease_epoch, f.lease_until,"
                " picked.host, picked.next_poll",
                [*params, owner],
            ).fetchall()
            rows.sort(key=lambda r: (r[4], r[0]))
        else:
            rows = store.conn.execute(
                f"{picked} SELECT url, lease_epoch + 1, {until}, host FROM picked"
                " ORDER BY next_poll, url",
                params,
            ).fetchall()
            store.conn.execute(
                f"UPDATE feeds SET lease_owner = ?, lease_epoch = lease_epoch + 1,"
                f" lease_until = {until}, next_poll = {until}"
                " WHERE url IN (SELECT value FROM json_each(?))",
                (owner, json.dumps([r[0] for r in rows])),
            )
        hostless = [(feed_host(r[0]), r[0]) for r in rows if r[3] is None]
        if hostless:
            store.conn.executemany("UPDATE feeds SET host = ? WHERE url = ?", hostless)
    return [_claim(r) for r in rows]


def renew_feed(store: Any, owner: str, claim: Claim, lease: float) -> Claim | None:
    """Extend ``claim`` to now + ``lease`` seconds (``next_poll`` at least as late); the
    renewed claim (same epoch), or None when ``owner`` lost it to another instance. An
    expired lease that nobody claimed since is renewed: nobody else wrote."""
    _, until = clock_sql(store, lease)
    later = "GREATEST" if store.dialect == POSTGRESQL else "MAX"
    held = "WHERE url = ? AND lease_owner = ? AND lease_epoch = ?"
    params = (claim.url, owner, claim.epoch)
    with unfenced(store):
        cursor = store.conn.execute(
            f"UPDATE feeds SET lease_until = {until},"
            f" next_poll = {later}(COALESCE(next_poll, {until}), {until}) {held}",
            params,
        )
        if cursor.rowcount != 1:
            return None
        row = store.conn.execute(
            f"SELECT url, lease_epoch, lease_until FROM feeds {held}", params
        ).fetchone()
    return _claim(row)


def release_feed(store: Any, owner: str, claim: Claim) -> bool:
    """Give ``claim`` up (the poll finished or failed): the lease is cleared, ``next_poll``
    kept as stored (the poll's own, or the lease's end when it recorded nothing). Whether
    ``owner`` still held it (False: another instance claimed it since; nothing changed)."""
    with unfenced(store):
        cursor = store.conn.execute(
            "UPDATE feeds SET lease_owner = NULL, lease_until = NULL"
            " WHERE url = ? AND lease_owner = ? AND lease_epoch = ?",
            (claim.url, owner, claim.epoch),
        )
        return cursor.rowcount == 1


def as_utc(text: str) -> datetime:
    """A stored timestamp (text to the second) as an aware UTC datetime.

    Raises ValueError for an empty one (a lease always has an end)."""
    moment = parse_ts(text)
    if moment is None:
        raise ValueError("a lease without an end")
    return moment


def _claim(row: Any) -> Claim:
    return Claim(url=row[0], epoch=row[1], lease_until=as_utc(row[2]))
