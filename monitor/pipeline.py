"""The order of the polling stages (delivery's order is in :mod:`monitor.delivery`).

poll: fetch (guarded, conditional) → skip unchanged body/entries → parse (worker) →
      normalize → full text (new items) → match → dedup (identity, story) → store(outbox)

Each stage is a function of another module taking values; this module passes the
values along, records failures on the feed (:mod:`monitor.feedhealth`) or the
message, and logs one line each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from monitor import metrics
from monitor.config import FeedConfig
from monitor.dedup import item_key
from monitor.delivery import DeliveryReport, deliver_all
from monitor.errors import FetchError, ParseError
from monitor.feedhealth import base_interval, record_failure, skip_unfinished
from monitor.ingest.changes import signature_count
from monitor.ingest.discover import fetch_feed
from monitor.ingest.fetch import FetchResult
from monitor.ingest.mislabel import DECIDE, REDECIDE, log_decision, to_keep
from monitor.ingest.parseworker import parse_changed_isolated
from monitor.ingest.schedule import next_poll_delay
from monitor.models import FeedRef, Item
from monitor.recording import record_items
from monitor.redact import link_base, may_hold_secret, redact_url
from monitor.runtime import Runtime
from monitor.store import charsets, pollguard
from monitor.store.codec import not_before
from monitor.store.fencing import LeaseLost
from monitor.store.items import Items
from monitor.store.retention import prune
from monitor.store.sqlite import FeedState, Store

log = logging.getLogger("monitor.pipeline")


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did."""

    feed: str
    ok: bool
    new_items: int = 0
    alerts: int = 0
    error: str | None = None
    skipped: bool = False
    next_poll: datetime | None = None  # as stored; None once the feed is gone


async def poll_feed(rt: Runtime, feed: FeedConfig, *, force: bool = False) -> PollReport:
    """Poll one feed: fetch, parse, match new items and queue their alerts.

    A feed is skipped until its stored next poll (interval with jitter, server hints,
    backoff), unless ``force`` (``run --once``, or a claim: several instances), and
    for good once it answered 410 Gone. Any failure is stored on the feed and logged as
    one line; it never escapes, so one broken feed (or a bug it triggers) costs one poll
    of that feed. Except LeaseLost (several instances): the claim was lost, nothing of
    this poll may be written, and the claim loop reports it.
    """
    now = rt.clock()
    name = feed.display_name
    state, unfinished, reading = await rt.db.run(_opening, feed.key)
    if state and state.gone_at:
        return PollReport(name, ok=False, error="disabled: the server answered 410 Gone")
    if not force and state and state.next_poll and state.next_poll > now:
        return PollReport(name, ok=True, skipped=True, next_poll=state.next_poll)
    if unfinished >= pollguard.LIMIT:
        error, next_poll = await rt.db.run(skip_unfinished, rt, feed, name, state, now, unfinished)
        return PollReport(name, ok=False, error=error, next_poll=next_poll)
    try:
        return await _poll(rt, feed, name, state, now, reading)
    except LeaseLost:
        raise  # another instance owns the feed now: nothing to record (service/claims.py)
    except (FetchError, ParseError) as exc:
        log.warning("feed=%r poll failed: %s", name, exc)
        metrics.poll_failed(exc)
        failure: Exception = exc
    except Exception as exc:
        log.exception("feed=%r poll failed unexpectedly", name)
        metrics.poll_failed(exc)
        failure = Exception(f"internal error: {type(exc).__name__}: {exc}")
    next_poll = await rt.db.run(record_failure, rt, feed, name, state, now, failure)
    return PollReport(name, ok=False, error=str(failure), next_poll=next_poll)


def _opening(store: Store, key: str) -> tuple[FeedState | None, int, str | None]:
    """A unit (store thread): feed ``key``'s stored state, its unfinished polls and how
    its charset label is read (:mod:`monitor.ingest.mislabel`: the kept reading, else
    DECIDE while it has no item, else REDECIDE: first read by an older version)."""
    state = store.feed(key)
    reading = state.charset_reading if state else None
    if reading is None:
        reading = DECIDE if charsets.may_decide(store, key, state) else REDECIDE
    return state, pollguard.unfinished(store, key), reading


async def _poll(
    rt: Runtime,
    feed: FeedConfig,
    name: str,
    state: FeedState | None,
    now: datetime,
    reading: str | None = None,
) -> PollReport:
    result = await _fetch_feed(rt, feed, state)
    moved = result.permanent_url
    if moved:
        log.info("feed=%r moved permanently to %s", name, redact_url(moved))
        if may_hold_secret(moved):  # memory only
            rt.moved[feed.key], moved = moved, None
        else:
            rt.moved.pop(feed.key, None)
    ttl = state.ttl_minutes if state else None

    def success(store: Store, stored: dict[str, Any]) -> datetime:
        # After this poll's items are stored: an adaptive interval counts them too.
        interval = base_interval(rt, feed, state, now)
        delay = next_poll_delay(interval, result, ttl, 0, rt.rng)
        next_poll = not_before(now + timedelta(seconds=delay))
        store.record_poll_success(
            feed.key,
            name,
            now,
            next_poll,
            result.etag,
            result.last_modified,
            permanent_url=moved,
            **stored,
        )
        return next_poll

    async def done(**stored: Any) -> datetime:
        """Store the poll's outcome (one unit); the next poll (as stored)."""
        return await rt.db.run(success, stored)

    unchanged = state is not None and result.body_sha256 == state.body_sha256
    if result.not_modified or result.body is None or unchanged:
        metrics.poll_ok(name, None)
        next_poll = await done()
        if unchanged:
            known = signature_count(state.entry_digests) if state else 0
            log.info("feed=%r items=%d unchanged (same body)", name, known)
        return PollReport(name, ok=True, next_poll=next_poll)
    async with _watching(rt, feed.key, name):  # the heavy part: parse to store
        return await _parse_and_record(rt, feed, name, state, now, result, done, reading)


@asynccontextmanager
async def _watching(rt: Runtime, key: str, name: str) -> AsyncIterator[None]:
    """:func:`pollguard.watching` with its enter and exit as units on the store's thread
    (the count is committed before the block starts; cancellation leaves it counted)."""
    guard = pollguard.watching(rt.store, key, name)
    await rt.db.run(lambda _: guard.__enter__())
    try:
        yield
    except Exception as exc:
        await rt.db.run(_exit, guard, exc)
        raise
    await rt.db.run(_exit, guard, None)


def _exit(_: Store, guard: AbstractContextManager[None], exc: Exception | None) -> None:
    guard.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


async def _parse_and_record(
    rt: Runtime,
    feed: FeedConfig,
    name: str,
    state: FeedState | None,
    now: datetime,
    result: FetchResult,
    done: Callable[..., Awaitable[datetime]],
    reading: str | None,
) -> PollReport:
    """Parse a changed body, store its new and edited items with their alerts, and
    record the poll with ``done`` (the success recorder of :func:`_poll`).

    ``reading`` is the feed's reading of a legacy charset label (:func:`_opening`); one
    decided now on this whole body is kept before any item is recorded, and logged once.
    """
    parse_started = metrics.now()
    changed = await parse_changed_isolated(
        result.body,
        link_base(result.url),
        result.content_type,
        FeedRef(name, redact_url(feed.url)),
        now,
        state.entry_digests if state else None,
        reading=reading,
        pool=rt.parse_pool,
    )
    if changed.reading and to_keep(reading, changed.reading, bool(changed.items)):
        keep = (feed.key, name, changed.reading, changed.carried)
        carried = await rt.db.run(charsets.keep_reading, *keep)
        log_decision(name, changed.reading, changed.meta and changed.meta.label_note, carried)
    if changed.meta is None:  # re-rendered, no entry changed
        metrics.poll_ok(name, result.body)
        next_poll = await done(body_sha256=result.body_sha256, entry_digests=changed.signatures)
        log.info("feed=%r items=%d unchanged (no entry changed)", name, changed.entries)
        return PollReport(name, ok=True, next_poll=next_poll)
    meta, items = changed.meta, changed.items
    metrics.parsed(parse_started)
    if meta.warning:  # the publisher's problem, not a failed poll: still a warning to read
        log.warning("feed=%r parsed with a warning: %s", name, meta.warning)
    if feed.fulltext:
        items = await _with_fulltext(rt, feed, items)
    first_poll = state is None or state.first_polled is None
    new, queued = await record_items(
        rt, feed, items, first_poll, now, changed.entry_ids, loose=meta.loose
    )
    # A document read loosely may have lost entries or text (ingest/partial.py): its
    # entry signatures are not kept, so each entry is read again once served well-formed.
    kept = state.entry_digests if state else None
    next_poll = await done(
        body_sha256=result.body_sha256,
        entry_digests=kept if meta.loose else changed.signatures,
        ttl_minutes=meta.ttl_minutes,
        parse_warning="; ".join(n for n in (meta.warning, meta.label_note) if n) or None,
        parsed=True,
    )
    log.info(
        "feed=%r items=%d parsed=%d new=%d alerts=%d",
        name,
        changed.entries,
        len(items),
        new,
        queued,
    )
    metrics.poll_ok(name, result.body, len(items), new)
    return PollReport(name, ok=True, new_items=new, alerts=queued, next_poll=next_poll)


async def _fetch_feed(rt: Runtime, feed: FeedConfig, state: FeedState | None) -> FetchResult:
    """Fetch the feed (its stored new URL if it moved), within its host's slot."""
    return await fetch_feed(
        rt.feeds_http,
        rt.moved.get(feed.key) or (state and state.permanent_url) or feed.url,
        name=feed.display_name,
        slot=rt.host_slot,
        etag=state.etag if state else None,
        last_modified=state.last_modified if state else None,
        timeout=rt.config.feed_timeout(feed).total_seconds(),
        max_bytes=rt.config.defaults.max_bytes,
        allow_private=rt.allow_private(feed),
        origin=feed.url,
    )


async def _with_fulltext(rt: Runtime, feed: FeedConfig, items: list[Item]) -> list[Item]:
    """New items get their article's text as ``content`` (known items keep theirs).

    At most ``ingest.fulltext_max_per_poll`` articles per poll, the first new items
    in feed order (logged when items are left out): the rest are matched on the
    feed's own text, so one feed with many slow links has a bounded poll.
    """
    keys = [item_key(i) for i in items]
    known = await rt.db.run(lambda store: Items(store).known(feed.key, keys))
    fetcher = rt.fulltext(feed)
    fresh = [i for i in items if item_key(i) not in known and i.link]
    cap = rt.config.ingest.fulltext_max_per_poll
    if len(fresh) > cap:
        log.info(
            "feed=%r fulltext: articles of %d of %d new items fetched "
            "(ingest.fulltext_max_per_poll); the rest are matched on the feed's text",
            feed.display_name,
            cap,
            len(fresh),
        )
        fresh = fresh[:cap]
    texts = await asyncio.gather(*(fetcher.text(i.link, origin=feed.url) for i in fresh))
    by_id = {i.id: text for i, text in zip(fresh, texts, strict=True) if text}
    return [replace(i, content=by_id[i.id]) if i.id in by_id else i for i in items]


async def poll_all(rt: Runtime) -> list[PollReport]:
    """Poll every feed once now (``run --once``), a bounded number at a time."""
    limit = asyncio.Semaphore(rt.config.ingest.max_parallel_fetches)

    async def one(feed: FeedConfig) -> PollReport:
        async with limit:
            return await poll_feed(rt, feed, force=True)

    return list(await asyncio.gather(*(one(f) for f in rt.config.feeds)))


def prune_state(store: Store, rt: Runtime) -> dict[str, int]:
    """Forget what is past retention (store) and past the dedup window (index); counts
    by kind. A unit (store thread; the index is the recording units' too): from the
    loop, ``await rt.db.run(prune_state, rt)``."""
    now = rt.clock()
    counts = prune(store, now - rt.config.dedup.retention, now)
    counts["fingerprints"] = prune_stories(rt, now)
    if any(counts.values()):
        log.info("pruned %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def prune_stories(rt: Runtime, now: datetime) -> int:
    """Forget the story index's fingerprints seen before the dedup window (in memory,
    this instance's own); how many. Call it on the store's thread (inside a unit): the
    index is the recording units' too."""
    return rt.stories.index.prune((now - rt.config.dedup.window).timestamp())


async def run_once(
    rt: Runtime, *, retry_now: bool = False
) -> tuple[list[PollReport], list[DeliveryReport]]:
    """One full pass: poll every feed, deliver everything due (with ``retry_now``,
    messages waiting for a retry too), prune old state."""
    polls = await poll_all(rt)
    deliveries = await deliver_all(rt, drain=True, ignore_backoff=retry_now)
    await rt.db.run(prune_state, rt)
    return polls, deliveries
