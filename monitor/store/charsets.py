"""How a feed's legacy charset label is read, kept on its row (``feeds.charset_reading``).

A feed that declares ISO-8859-1, windows-1252 or another single-byte legacy encoding
is read by the decision :mod:`monitor.ingest.mislabel` takes on a whole body:
``'utf-8'`` (its bytes were UTF-8: the label is overruled), ``'declared'`` (they were
not), ``'label'`` (any other feed, kept once its first items are: read by its label,
feedparser's per-field re-reading checked, :mod:`monitor.ingest.reread`), or NULL
(never decided: read as earlier versions read it). The decision is
taken only while the feed has no stored item (:func:`may_decide`), because an item's
id may hold its text: a feed with items keeps the reading its ids were made with, so
nothing is alerted twice. It is kept (:func:`keep_reading`) before the poll's items are
recorded, in its own transaction: a crash in between leaves a decided feed without
items (its next poll reads with the decision), never items without their reading.
Once kept it is never changed nor cleared: every later parse, whole or partial, reads
the feed the same way (:attr:`~monitor.store.feedstate.FeedState.charset_reading`).
"""

from __future__ import annotations

from monitor.store.feedstate import FeedState
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


def keep_reading(store: Store, url: str, name: str, reading: str) -> None:
    """Keep ``reading`` (``"utf-8"``, ``"declared"`` or ``"label"``) as feed ``url``'s, in its own
    transaction, unless one is kept already (the first decision stands). Creates the
    feed's row when it has none (named ``name``), as a poll's record does. Raises what
    the store raises (a poll's claim lost, several instances: ``LeaseLost``)."""
    with store.transaction():
        store._ensure_feed(url, name)
        store.conn.execute(
            "UPDATE feeds SET charset_reading = ? WHERE url = ? AND charset_reading IS NULL",
            (reading, url),
        )
