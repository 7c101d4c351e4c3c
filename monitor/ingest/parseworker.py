"""The parse jobs, run in worker processes (:mod:`monitor.ingest.workerpool`).

:func:`parse_isolated` (a feed's entries), :func:`parse_items_isolated` (its Items,
for ``fetch`` and ``test-rule``) and :func:`parse_changed_isolated` (the daemon: the
pre-scan, then the parse of what changed) run in a :class:`ParsePool`. Failures are
:class:`ParseError`; those of the limits are :class:`ParseLimitError`.

The limits grow with the body, so that raising ``defaults.max_bytes`` is enough to
read a big feed: the deadline is the pool's (``ingest.parse_timeout``) plus
:data:`SECONDS_PER_MIB` for each MiB beyond :data:`FREE_MIB` (:func:`parse_deadline`),
and a body that needs more address space than the pool's workers have
(:func:`parse_memory_limit`) is parsed in a one-off worker with a larger limit. Both
are measured numbers with a margin (docs/feeds.md, "Limits").

    pool = ParsePool(workers=2, memory_mb=512)
    parsed = await parse_isolated(body, url, content_type, timeout=10, pool=pool)
    changed = await parse_changed_isolated(body, url, ctype, feed_ref, now, old_sigs, pool=pool)
    await pool.close()

Without ``pool=``, a process-wide default pool (:func:`default_pool`) is used.

The jobs themselves are :mod:`monitor.ingest.parsejobs` (what a worker imports);
feedparser and the normalizer are imported by them, in the worker: the daemon's
process never loads them, and a worker whose pre-scan found nothing new does not either.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.ingest.mislabel import REDECIDE
from monitor.ingest.parsejobs import ChangedFeed, changed_job, items_job, parse_job
from monitor.ingest.workerpool import ParseLimitError, ParsePool
from monitor.models import FeedRef, Item

if TYPE_CHECKING:
    from monitor.ingest.parse import ParsedFeed

__all__ = [
    "ChangedFeed",
    "ParseLimitError",
    "ParsePool",
    "default_pool",
    "log_skipped",
    "parse_changed_isolated",
    "parse_deadline",
    "parse_isolated",
    "parse_items_isolated",
    "parse_memory_limit",
    "run_for_body",
    "scaled_limits",
]
MIB = 1024 * 1024
# Parse deadline for big bodies. Measured (2 shared cores, feedparser 6, CPU time of
# the worker's job): 0.17-0.42 s per MiB for 26 MiB feeds of ~5 KB items (5,000-6,600
# items), 0.54-0.61 s per MiB for ~600-byte items (23-26 MiB, 40,000-57,000 items).
# 2 s per MiB is ~3.5x the slowest.
SECONDS_PER_MIB = 2.0
FREE_MIB = 4  # the first MiB are covered by the configured deadline alone
READ_ANEW_PARSES = 4  # a read anew parses a body 3 times (changed entries, both readings)
# Address space for big bodies. Measured peak (VmPeak of a worker): ~45 MB plus 4.9-8.5
# MB per MiB of body for ~5 KB items (171-265 MB at 26 MiB), up to 12.7-13.6 MB per
# MiB for ~600-byte items (376 MB at 26 MiB). 32 bytes per byte is ~2.3x the heaviest.
MEMORY_FIXED_BYTES = 64 * MIB
MEMORY_PER_BODY_BYTE = 32
log = logging.getLogger("monitor.ingest")


def parse_deadline(size_bytes: int, base_seconds: float) -> float:
    """The wall-clock limit, in seconds, to parse a body of ``size_bytes`` bytes.

    ``base_seconds`` (``ingest.parse_timeout``) covers the first :data:`FREE_MIB`
    MiB; every MiB beyond adds :data:`SECONDS_PER_MIB` (rounded up to whole
    seconds), about three times feedparser's slowest measured rate, so that the one
    size limit (``defaults.max_bytes``) decides which feeds can be read.
    """
    beyond = size_bytes / MIB - FREE_MIB
    if beyond <= 0:
        return base_seconds
    return base_seconds + math.ceil(SECONDS_PER_MIB * beyond)


def parse_memory_limit(size_bytes: int, base_bytes: int) -> int:
    """The address-space limit (``RLIMIT_AS``, bytes) to parse ``size_bytes`` bytes.

    At least ``base_bytes`` (``ingest.parse_memory_mb``); a body that needs more
    (:data:`MEMORY_FIXED_BYTES` plus :data:`MEMORY_PER_BODY_BYTE` per byte, about
    2.3 times the heaviest measured peak) gets that. ``base_bytes`` <= 0 means no limit (kept).
    """
    if base_bytes <= 0:
        return base_bytes
    return max(base_bytes, MEMORY_FIXED_BYTES + MEMORY_PER_BODY_BYTE * size_bytes)


def log_skipped(feed: FeedRef, meta: ParsedFeed | None) -> None:
    """One warning per entry the parse skipped: ``feed=NAME item N skipped: REASON``.

    Logged here, in the daemon's process (the worker's log goes nowhere), so that an
    entry left out is seen, while the rest of its feed is read as usual.
    """
    for position, reason in meta.skipped if meta else ():
        log.warning("feed=%r item %d skipped: %s", feed.name, position, reason)


_default: ParsePool | None = None


def default_pool() -> ParsePool:
    """The process-wide pool used when no ``pool`` is passed."""
    global _default
    if _default is None:
        _default = ParsePool()
    return _default


async def run_for_body(
    job: Callable[..., Any],
    body: bytes,
    *args: Any,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> Any:
    """``job(body, *args)`` in a worker of ``pool`` (else :func:`default_pool`), with
    the pool's limits scaled to ``body``'s size by :func:`parse_deadline` (unless an
    explicit ``timeout``, in seconds) and :func:`parse_memory_limit`.

    Raises ParseError (ParseLimitError for a limit).
    """
    pool = pool or default_pool()
    return await pool.run(job, body, *args, **scaled_limits(pool, len(body), timeout))


def scaled_limits(pool: ParsePool, size_bytes: int, timeout: float | None = None) -> dict[str, Any]:
    """:meth:`ParsePool.run`'s ``timeout`` and ``memory_bytes`` for a job reading
    ``size_bytes`` bytes: the pool's limits scaled by :func:`parse_deadline` and
    :func:`parse_memory_limit` (an explicit ``timeout``, in seconds, is kept).
    """
    deadline = parse_deadline(size_bytes, pool.timeout) if timeout is None else timeout
    return {"timeout": deadline, "memory_bytes": parse_memory_limit(size_bytes, pool.memory_bytes)}


async def parse_isolated(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> ParsedFeed:
    """:func:`parse_feed` in a worker; entries are plain dicts (see ``slim_entry``).

    Without ``timeout`` (seconds) the deadline grows with the body
    (:func:`parse_deadline`); the memory limit always does (:func:`parse_memory_limit`).
    Raises ParseError (ParseLimitError for a limit).
    """
    return await run_for_body(parse_job, body, url, content_type, timeout=timeout, pool=pool)


async def parse_items_isolated(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    *,
    reading: str | None = None,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> tuple[ParsedFeed, list[Item]]:
    """The feed's metadata (no entries) and its normalized Items, parsed in a worker.

    What ``news-monitor fetch`` and ``test-rule`` read: the daemon's parse and
    normalization, with the same limits as :func:`parse_isolated`; ``reading`` as in
    :func:`parse_changed_isolated` (they pass ``"decide"``: read as a first poll would).
    Entries skipped as unreadable are logged (:func:`log_skipped`).
    """
    job_args = (url, content_type, feed, now, reading)
    meta, items = await run_for_body(items_job, body, *job_args, timeout=timeout, pool=pool)
    log_skipped(feed, meta)
    return meta, items


async def parse_changed_isolated(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    previous: str | None,
    *,
    reading: str | None = None,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> ChangedFeed:
    """In a worker: the pre-scan and entry signatures
    (:func:`~monitor.ingest.changes.select_changed`), then the parse of what changed.

    ``previous`` is the entry signatures kept from the last poll; ``reading`` the
    feed's reading of a legacy label, or ``"decide"`` (decided on the whole ``body``,
    given back in ``ChangedFeed.reading``; :mod:`monitor.ingest.mislabel`). The limits
    grow with the size of ``body`` as in :func:`parse_isolated` (the daemon passes no
    ``timeout``). Entries skipped as unreadable are logged (:func:`log_skipped`);
    their signatures are kept, so an entry is skipped (and logged) again only once
    it changes. ``"redecide"`` (a feed an earlier version read, read anew) parses the
    whole body twice more (:mod:`monitor.ingest.carryover`): its deadline is
    :data:`READ_ANEW_PARSES` times the body's, or a large feed would miss it at every
    changed poll and record nothing.
    """
    if timeout is None and reading == REDECIDE:
        pool = pool or default_pool()
        timeout = READ_ANEW_PARSES * parse_deadline(len(body), pool.timeout)
    job_args = (url, content_type, feed, now, previous, reading)
    changed = await run_for_body(changed_job, body, *job_args, timeout=timeout, pool=pool)
    log_skipped(feed, changed.meta)
    return changed
