"""The story a new item joins, asked of its candidates in order (docs/dedup.md).

Candidates are the stories sharing the item's canonical link (the store), then those
with near-identical text, closest first (the story index); the item joins the first
one that :func:`~monitor.dedup.folding.may_join` allows. Not pure, unlike the rest of
:mod:`monitor.dedup`: it reads the store, so call it inside the recording unit
(:mod:`monitor.recording`), on the store's thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from monitor.dedup.cluster import StoryFinder
from monitor.dedup.folding import may_join
from monitor.models import Item

if TYPE_CHECKING:
    from monitor.store.itemreads import ItemReads

__all__ = ["story_to_join"]


def story_to_join(
    reads: ItemReads,
    finder: StoryFinder,
    feed_key: str,
    item: Item,
    canonical: str | None,
    fp: int | None,
    listed: frozenset[str],
    now: datetime,
) -> tuple[int, str] | None:
    """``(story, signal)`` a new ``item`` of feed ``feed_key`` joins, the signal being
    "link" or "text"; None: it starts a story of its own.

    ``canonical`` and ``fp``: its canonical link and text fingerprint; ``listed``: the
    keys of every entry of the fetched document (see ``may_join``). Raises what the
    store raises.
    """
    by_link = reads.stories_by_url(canonical) if canonical else []
    by_text = [m.story_id for m in finder.near(fp, now)]
    for signal, story_id in [("link", s) for s in by_link] + [("text", s) for s in by_text]:
        if may_join(item.title, reads.feed_mates(story_id, feed_key), listed):
            return story_id, signal
    return None
