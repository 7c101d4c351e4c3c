"""Record one poll's items: dedup them into stories and store them with their alerts.

The last stage of a poll (:mod:`monitor.pipeline` calls it): hashing, matching and
fingerprinting run off the event loop first (:mod:`monitor.matching`); then, in one
transaction, each new item joins a story or starts one (:mod:`monitor.dedup.folding`
decides which may join), is stored with its matches, and its alerts are queued in
the outbox; an edited known item is matched again and alerts only on rules it did
not match before.

Several instances on PostgreSQL: two of them recording copies of one wire story at the
same moment would each start a story. So a poll with new or changed items first takes a
transaction-level advisory lock (:data:`STORY_LOCK`, held until its commit) and, under
it, reads into its in-memory index the fingerprints the other instances committed since
it last looked (:func:`~monitor.runtime.catch_up_stories`): the second copy then finds
the first one's story, by link (the database) or by text (the index).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

from monitor import metrics
from monitor.config import FeedConfig, format_duration
from monitor.dedup import item_key
from monitor.dedup.folding import listed_keys
from monitor.dedup.joining import LinkStories, story_to_join
from monitor.ingest.partial import degrades
from monitor.matching import Prepared, prepare_items
from monitor.models import Item, Match
from monitor.runtime import Runtime, catch_up_stories
from monitor.store.dialect import POSTGRESQL
from monitor.store.items import Items, KnownItem
from monitor.store.sqlite import Store

log = logging.getLogger("monitor.pipeline")

__all__ = ["STORY_LOCK", "record_items"]

STORY_LOCK = 0x6E6D5F73746F7279  # "nm_story": pg_advisory_xact_lock key of story assignment


async def record_items(
    rt: Runtime,
    feed: FeedConfig,
    items: list[Item],
    first_poll: bool,
    now: datetime,
    entry_ids: Iterable[str] = (),
    *,
    loose: bool = False,
) -> tuple[int, int]:
    """Dedup and store a poll's items with their alerts, in one transaction.

    Raises what the store raises (sqlite3.Error); the transaction and the story
    index's pending entries are then rolled back together.

    New items are matched and join or start a story; known items whose text changed
    are matched again and alert only on rules they did not match before; unchanged
    and pruned items are skipped. Hashing, matching and fingerprinting run off the
    event loop first (:mod:`monitor.matching`), the store on it. ``entry_ids``: the
    pre-scan's ids of every entry of the document, unchanged ones included (they were
    not parsed into ``items``). ``loose``: the document is not well-formed XML; an
    edit from it that empties a stored field is not taken
    (:mod:`monitor.ingest.partial`). Returns (new items, alerts queued).
    """
    keyed: dict[str, Item] = {}
    for item in items:
        keyed.setdefault(item_key(item), item)
    listed = listed_keys(keyed, entry_ids)
    known, pruned = await rt.db.run(_known, feed.key, keyed)
    todo = {k: i for k, i in keyed.items() if k in known or k not in pruned}
    stored = {k: known[k].content_hash for k in todo if k in known}
    quiet = {
        k
        for k, i in todo.items()
        if k not in known and not _alertable(rt, feed, i, first_poll, now)
    }
    prepared = await prepare_items(rt, rt.rules_for_feed(feed), todo, stored, baseline=quiet)
    args = (rt, feed, todo, known, quiet, prepared, listed, now, loose)
    new, queued, held = await rt.db.run(_record, *args)
    if first_poll:
        _log_first_poll(rt, feed, new, held)
    return new, queued


def _known(store: Store, feed_key: str, keyed: dict[str, Item]) -> tuple[dict, set]:
    """A unit (store thread): the poll's items already stored (by key, after carrying
    over former keys) and those pruned since."""
    items = Items(store)
    known = items.known(feed_key, keyed)
    if adopted := items.adopt_former_keys(feed_key, keyed, known):
        log.info("feed=%r items=%d carried over to their guid as written", feed_key, adopted)
        known = items.known(feed_key, keyed)
    return known, items.pruned(feed_key, keyed.keys() - known.keys())


def _record(
    st: Store,
    rt: Runtime,
    feed: FeedConfig,
    todo: dict[str, Item],
    known: dict[str, KnownItem],
    quiet: set[str],
    prepared: dict[str, Prepared],
    listed: frozenset[str],
    now: datetime,
    loose: bool,
) -> tuple[int, int, int]:
    """A unit (store thread): the whole recording transaction with the story index's
    pending entries (committed or rolled back with it); (new, queued, held back)."""
    store = Items(st)
    new = queued = held = last_id = 0
    fresh = any(k not in known for k in todo)
    locked = st.dialect == POSTGRESQL and (fresh or any(prepared[k].changed for k in todo))
    try:
        with st.transaction():
            if locked:
                _story_lock(st, rt, now)
            elif fresh and not rt.stories_loaded:  # one writer: read once, then kept
                catch_up_stories(rt, now)
            ref = _feed_ref(store, feed, todo, known) if fresh else None
            links = _link_stories(store, todo, known, prepared)
            for key, item in todo.items():
                ready = prepared[key]
                if key in known:
                    update = (feed, key, known[key], item, ready, now, loose)
                    queued += _record_update(rt, store, *update)
                else:
                    alertable = key not in quiet
                    alerts, last_id = _record_new(
                        rt, store, feed, key, item, ready, listed, links, now, alertable, ref
                    )
                    queued += alerts
                    new += 1
                    held += bool(ready.matches) and not alertable
            if new:
                store.count_seen(feed.key, new)
    except BaseException:
        rt.stories.rollback()
        raise
    rt.stories.commit()
    if locked:  # ours were the next ids: nobody else inserted while we held the lock
        rt.stories_seen = max(rt.stories_seen, last_id)
    return new, queued, held


def _link_stories(
    store: Items, todo: dict[str, Item], known: dict[str, KnownItem], prepared: dict[str, Prepared]
) -> LinkStories:
    """The poll's stories by link (:class:`~monitor.dedup.joining.LinkStories`): read
    at once for a poll of new items only; when it updates a known item (an edit may
    move its link) each new item reads its own."""
    if any(key in known for key in todo):
        return LinkStories(store, None)
    return LinkStories(store, (prepared[key].canonical for key in todo))


def _feed_ref(
    store: Items, feed: FeedConfig, todo: dict[str, Item], known: dict[str, KnownItem]
) -> tuple[int, str | None]:
    """The feed's ``feed_refs`` row for this transaction's new items (they share it)."""
    first = next(item for key, item in todo.items() if key not in known)
    return store.feed_ref(feed.key, first.feed.name)


def _story_lock(st: Store, rt: Runtime, now: datetime) -> None:
    """In the open transaction: wait for the cluster's story lock (released at its
    commit or rollback), then catch the story index up on the other instances' items."""
    started = time.perf_counter()
    st.advisory_lock(STORY_LOCK)
    metrics.lock_waited(time.perf_counter() - started)
    catch_up_stories(rt, now)


def _log_first_poll(rt: Runtime, feed: FeedConfig, new: int, held: int) -> None:
    """Say what a feed's first poll did with the items it found, so that a quiet first
    poll reads as backfill at work, not as a broken rule or channel
    (docs/configuration.md, *Backfill*)."""
    backfill = rt.config.feed_backfill(feed)
    if backfill == "all":
        return
    assert isinstance(backfill, timedelta)
    window = "0" if not backfill else f"{format_duration(backfill)}: older or undated items"
    log.info(
        "feed=%r first poll: %d items recorded as seen, %d matched rules but were not "
        "alerted (backfill: %s, see docs/configuration.md#backfill)",
        feed.display_name,
        new,
        held,
        window,
    )


def _record_new(
    rt: Runtime,
    store: Items,
    feed: FeedConfig,
    key: str,
    item: Item,
    ready: Prepared,
    listed: frozenset[str],
    links: LinkStories,
    now: datetime,
    alertable: bool,
    ref: tuple[int, str | None] | None = None,
) -> tuple[int, int]:
    """Store a new item (matched in ``ready``), fold it into a story (or start one) and
    queue its alerts; (alerts queued, the item's id).

    ``listed``: the keys of every entry of the fetched document; ``links``: the poll's
    stories by link (see :func:`~monitor.dedup.joining.story_to_join`).
    Only an item that matched a rule and may alert keeps its text (a message may show
    it); the others are stored slim (:func:`~monitor.store.itemcodec.pack_item`), among
    them a first poll's backlog that backfill holds back: most of a first poll's
    items, whose text no message shows (a later copy that alerts their story is
    shown with its own text; the held item is listed beside it). Issue #18.
    """
    matches = list(ready.matches)
    metrics.matched(matches)
    canonical, fp = ready.canonical, ready.fingerprint
    found = story_to_join(store, rt.stories, feed.key, item, canonical, fp, listed, links, now)
    story_id = joined = found[0] if found else None
    if found:
        log.info("feed=%r item=%r joins story %d (same %s)", feed.display_name, item.id, *found)
    item_id, story_id = store.insert(
        feed.key,
        key,
        item,
        canonical_url=canonical,
        content_hash=ready.digest,
        fingerprint=fp,
        story_id=story_id,
        now=now,
        full=bool(matches) and alertable,
        ref=ref,
    )
    rt.stories.remember(fp, story_id, now)
    links.recorded(canonical, story_id)
    store.add_matches(item_id, matches, now)
    queued = 0
    for match in matches:  # one line per match: its own feed/rule keys in JSON logs
        channels = rt.rule_channels[match.rule] if alertable else ()
        sent = [c for c in channels if store.queue_alerts(story_id, ((match.rule, (c,)),), now)]
        queued += len(sent)
        level = logging.INFO if alertable else logging.DEBUG
        if log.isEnabledFor(level):  # a backlog's lines are debug: not even formatted
            log.log(
                level,
                "feed=%r rule=%r item=%r story=%d matched%s",
                feed.display_name,
                match.rule,
                item.id,
                story_id,
                match_fate(rt.rule_channels[match.rule], sent, alertable, joined),
            )
    return queued, item_id


def match_fate(
    channels: Sequence[str], queued: Collection[str], alertable: bool, joined: int | None
) -> str:
    """What became of a new item's match, for its log line (after ``matched``).

    ``channels``: the rule's; ``queued``: those an alert was queued on just now;
    ``joined``: the story the item joined (None: it started one). A channel the
    story already has an alert on for the rule (queued or sent, one per story and rule,
    docs/dedup.md) gets none: the line says so, and names only the channels that got
    one after "alerts to", so that grepping "alerts to" counts real alerts.
    """
    if not alertable:
        return ", not alerted (backfill)"
    if not channels:
        return ", not alerted: the rule notifies no channel"
    already = [c for c in channels if c not in queued]
    fate = f", alerts to {', '.join(c for c in channels if c in queued)}" if queued else ""
    if already:
        story = f"joins story {joined}, whose" if joined is not None else "the story's"
        fate += f"; {story} alert on {', '.join(already)} is already queued or sent"
        fate += " (not sent again)"
    return fate


def _record_update(
    rt: Runtime,
    store: Items,
    feed: FeedConfig,
    key: str,
    known: KnownItem,
    item: Item,
    ready: Prepared,
    now: datetime,
    loose: bool = False,
) -> int:
    """Store an edited known item and its matches; alert on rules it newly matches.

    It keeps its text if it matched a rule, now or before (a message may show it).
    From a document that is not well-formed (``loose``), an edit that empties a
    stored field is no edit (:func:`monitor.ingest.partial.degrades`).
    """
    if not ready.changed:
        return 0
    if loose and (emptied := degrades(item, *store.stored(known.id), feed.fulltext)):
        log.warning(
            "feed=%r item=%r not updated: the document is not well-formed and its %s "
            "came out empty (stored text kept)",
            feed.display_name,
            item.id,
            ", ".join(emptied),
        )
        return 0
    before = store.rules_matched(known.id)
    matches = list(ready.matches)
    fresh = [m for m in matches if m.rule not in before]
    metrics.matched(fresh)
    full = bool(before or matches)
    store.update(known.id, item, ready.digest, feed_url=feed.key, key=key, full=full)
    store.add_matches(known.id, matches, now)  # every rule's highlights follow the new text
    if fresh:
        log.info(
            "feed=%r item=%r updated, now matches %s",
            feed.display_name,
            item.id,
            ", ".join(m.rule for m in fresh),
        )
    return store.queue_alerts(known.story_id, _alerts(rt, fresh), now)


def _alerts(rt: Runtime, matches: list[Match]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((m.rule, rt.rule_channels[m.rule]) for m in matches)


def _alertable(rt: Runtime, feed: FeedConfig, item: Item, first_poll: bool, now: datetime) -> bool:
    """Backfill: at a feed's first poll, only items within ``backfill`` are alerted."""
    if not first_poll:
        return True
    backfill = rt.config.feed_backfill(feed)
    if backfill == "all":
        return True
    assert isinstance(backfill, timedelta)
    return bool(backfill) and item.published is not None and item.published >= now - backfill
