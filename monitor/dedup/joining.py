"""The story a new item joins, asked of its candidates in order (docs/dedup.md).

Candidates are the stories sharing the item's canonical link (the store), then those
with near-identical text, closest first (the story index); the item joins the first
one that :func:`~monitor.dedup.folding.may_join` allows. Not pure, unlike the rest of
:mod:`monitor.dedup`: it reads the store, so call it inside the recording unit
(:mod:`monitor.recording`), on the store's thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.dedup.cluster import StoryFinder
from monitor.dedup.folding import LINK_STORIES, may_join
from monitor.models import Item

if TYPE_CHECKING:
    from monitor.store.itemreads import ItemReads

__all__ = ["LinkStories", "story_to_join"]


class LinkStories:
    """The stories sharing each canonical link of a poll's new items: read from the
    store at once (:meth:`~monitor.store.itemreads.ItemReads.stories_by_urls`), then
    kept up to date as the poll's items start or join stories, so that
    :func:`story_to_join` does not read the store once an item (~15 µs a read: 12,096
    of them in a first poll of 200 feeds; issue #18). The same stories, in the same
    order (by item id: the poll's items come after every stored one).

    Valid while the poll's transaction moves no stored item's link: the recording unit
    reads ahead for a poll of new items only (an edit may move a known item's link).
    Without ``canonicals`` nothing is read ahead: each lookup reads the store.
    """

    def __init__(self, reads: ItemReads, canonicals: Iterable[str | None] | None) -> None:
        self._reads = reads
        self._stories = (
            None if canonicals is None else reads.stories_by_urls({c for c in canonicals if c})
        )

    def stories(self, canonical: str) -> list[int]:
        """The stories holding an item with this canonical link, oldest first."""
        if self._stories is None:
            return self._reads.stories_by_url(canonical)
        return self._stories.get(canonical, [])

    def recorded(self, canonical: str | None, story_id: int) -> None:
        """An item of the poll with the canonical link ``canonical`` is in ``story_id``."""
        if canonical and self._stories is not None:
            stories = self._stories.setdefault(canonical, [])
            if story_id not in stories and len(stories) < LINK_STORIES:
                stories.append(story_id)


def story_to_join(
    reads: ItemReads,
    finder: StoryFinder,
    feed_key: str,
    item: Item,
    canonical: str | None,
    fp: int | None,
    listed: frozenset[str],
    links: LinkStories,
    now: datetime,
) -> tuple[int, str] | None:
    """``(story, signal)`` a new ``item`` of feed ``feed_key`` joins, the signal being
    "link" or "text"; None: it starts a story of its own.

    ``canonical`` and ``fp``: its canonical link and text fingerprint; ``listed``: the
    keys of every entry of the fetched document (see ``may_join``); ``links``: the
    poll's stories by link. Raises what the store raises.
    """
    by_link = links.stories(canonical) if canonical else []
    by_text = [m.story_id for m in finder.near(fp, now)]
    for signal, story_id in [("link", s) for s in by_link] + [("text", s) for s in by_text]:
        if may_join(item.title, reads.feed_mates(story_id, feed_key), listed):
            return story_id, signal
    return None
