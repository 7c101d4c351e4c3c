"""What makes two items the same story.

- :mod:`monitor.dedup.urls`: canonical URLs (the same link, tracking noise removed);
- :mod:`monitor.dedup.identity`: an item's key within its feed, stable under churn;
- :mod:`monitor.dedup.fingerprint`: 64-bit SimHash of an item's text;
- :mod:`monitor.dedup.index`: near-duplicate lookup among recent fingerprints;
- :mod:`monitor.dedup.folding`: whether a new item may join a story a link or text
  points to (what each signal proves, docs/dedup.md);
- :mod:`monitor.dedup.joining`: the story a new item joins, its candidates read from
  the store and the story index (the one module here that reads the store);
- :mod:`monitor.dedup.story`: which item of a story a message shows, with which
  highlights, and which items it lists.

All pure but :mod:`~monitor.dedup.joining`: the store persists what these compute;
the pipeline decides what to do.
"""

from monitor.dedup.cluster import StoryFinder
from monitor.dedup.fingerprint import fingerprint, hamming
from monitor.dedup.identity import content_hash, item_key, same_content
from monitor.dedup.index import FingerprintIndex
from monitor.dedup.urls import canonical_url

__all__ = [
    "FingerprintIndex",
    "StoryFinder",
    "canonical_url",
    "content_hash",
    "fingerprint",
    "hamming",
    "item_key",
    "same_content",
]
