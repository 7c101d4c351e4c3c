"""How a feed's charset label is read, kept on its row (``feeds.charset_reading``).

A feed's reading is the decision :mod:`monitor.ingest.mislabel` takes on a whole body:
``'utf-8'`` (a single-byte legacy label over UTF-8 bytes: the label is overruled),
``'declared'`` (a legacy label over bytes that are not UTF-8), ``'label'`` (any other
feed, kept with its first items: read by its label, feedparser's per-field re-reading
checked, :mod:`monitor.ingest.reread`), or NULL (not decided yet). It is decided while
the feed has no stored item (:func:`may_decide`) or, for a feed with items and no
reading kept (first polled by an older version), at its next changed body: an item's
key may hold its text, so the stored items whose key the new reading changes are
renamed to their new keys in the same transaction (:mod:`monitor.ingest.carryover`)
and nothing is alerted twice. It is kept (:func:`keep_reading`) before the poll's
items are recorded, in its own transaction: a crash in between leaves a decided feed
without items (its next poll reads with the decision), never items without their
reading. Once kept it is never changed nor cleared: every later parse, whole or
partial, reads the feed the same way
(:attr:`~monitor.store.feedstate.FeedState.charset_reading`).
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.store.feedstate import FeedState
from monitor.store.items import Items
from monitor.store.sqlite import Store

__all__ = ["keep_reading", "may_decide"]


def may_decide(store: Store, url: str, state: FeedState | None) -> bool:
    """Whether the reading of feed ``url`` (its stored ``state``) may be decided now:
    none is kept yet and the feed never had an item stored.

    Never had: its ``items_seen`` count is 0 *and* no item row names it, so a count
    off in an old state cannot let a feed with items be read anew. Items pruned since
    leave the count (and their tombstones, keyed by id) behind: such a feed is not
    decided either. One indexed query, for feeds whose count is 0 only.
    """
    if state is not None and (state.charset_reading or state.items_seen):
        return False
    row = store.conn.execute(
        "SELECT 1 FROM items WHERE feed_id = (SELECT id FROM feed_refs WHERE url = ?) LIMIT 1",
        (url,),
    ).fetchone()
    return row is None


def keep_reading(
    store: Store, url: str, name: str, reading: str, carried: Mapping[str, str] | None = None
) -> int:
    """Keep ``reading`` (``"utf-8"``, ``"declared"`` or ``"label"``) as feed ``url``'s,
    unless one is kept already (the first decision stands), and rename its stored
    items from each old key of ``carried`` to the new one (``{old: new}``, a feed read
    anew: :mod:`monitor.ingest.carryover`), in one transaction, so no item is read
    under one reading and stored under the other's key. Creates the feed's row when it
    has none (named ``name``), as a poll's record does. Returns the items renamed.
    Raises what the store raises (a poll's claim lost, several instances: ``LeaseLost``)."""
    with store.transaction():
        store._ensure_feed(url, name)
        done = store.conn.execute(
            "UPDATE feeds SET charset_reading = ? WHERE url = ? AND charset_reading IS NULL",
            (reading, url),
        )
        if not carried or not done.rowcount:
            return 0
        return Items(store).rename_keys(url, carried)
