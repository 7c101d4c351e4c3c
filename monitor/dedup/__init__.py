"""What makes two items the same story.

- :mod:`monitor.dedup.urls`: canonical URLs (the same link, tracking noise removed);
- :mod:`monitor.dedup.identity`: an item's key within its feed, stable under churn;
- :mod:`monitor.dedup.fingerprint`: 64-bit SimHash of an item's text;
- :mod:`monitor.dedup.index`: near-duplicate lookup among recent fingerprints.

All pure: the store persists what these compute; the pipeline decides what to do.
"""

from monitor.dedup.cluster import StoryFinder
from monitor.dedup.fingerprint import fingerprint, hamming
from monitor.dedup.identity import content_hash, item_key
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
]
