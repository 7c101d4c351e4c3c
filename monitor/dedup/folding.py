"""When a new item may join a story that a link or a text fingerprint points to.

A shared canonical link or a near-identical body is only a hint. Whether it proves
"the same story" depends on where the two items come from (docs/dedup.md, "What
each signal proves"):

- from **another feed**, a shared link or body is a copy (syndication, a wire story
  on several sites, a re-titled copy): it joins;
- from the **same feed**, the feed itself is the better witness. Two of its entries
  listed side by side in one fetched document, under different keys, are different
  by the feed's own word (advisories that all link to one "upcoming" page). An entry
  whose key changed since the last fetch (Google News re-issues guid and link on
  every fetch) is the same item only if its title is the same too: a shared link or
  body with a different title is a landing page or boilerplate, not a copy.

Pure functions: the pipeline looks the candidates and their members up in the store.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from monitor.dedup.urls import canonical_url

_WORDS = re.compile(r"\w+")
# The stories a canonical link is looked up in, oldest first: a link shared by more
# stories than that is a landing page, not a copy of any one of them.
LINK_STORIES = 20


@dataclass(frozen=True)
class FeedMate:
    """An item already in a candidate story that came from the new item's own feed."""

    key: str  # its key within the feed (see :func:`monitor.dedup.identity.item_key`)
    title: str


def title_key(title: str) -> str:
    """A title as compared for identity: case folded words, punctuation and spacing ignored.

    ``"Pompeo, Pyongyang - Outlet"`` and ``"pompeo pyongyang outlet"`` compare equal.
    """
    return " ".join(_WORDS.findall(title.casefold()))


def may_join(title: str, mates: Sequence[FeedMate], listed: Collection[str]) -> bool:
    """Whether a new item titled ``title`` may join a story found by link or text.

    ``mates`` are the story's items from the new item's own feed (none: the story
    comes from other feeds, so the item is another outlet's copy and joins).
    ``listed`` holds the keys of every entry of the fetched document the new item
    came in. The item joins its own feed's story only as a re-issued copy of one of
    those items: none of them still listed beside it, and one of them with the same
    title. An empty title proves nothing, so it never counts as the same.
    """
    if not mates:
        return True
    if any(mate.key in listed for mate in mates):
        return False
    own = title_key(title)
    return bool(own) and any(title_key(mate.title) == own for mate in mates)


def listed_keys(item_keys: Iterable[str], entry_ids: Iterable[str]) -> frozenset[str]:
    """The keys of every entry of a fetched document.

    ``item_keys`` are the keys of the entries that were parsed (new or edited);
    ``entry_ids`` the ids the pre-scan found for all entries (RSS guid, Atom id, else
    the link), unchanged ones included. A link id stands for its canonical form too,
    as :func:`~monitor.dedup.identity.item_key` keys link-only entries by it.
    """
    keys = set(item_keys)
    for entry_id in entry_ids:
        keys.add(entry_id)
        canonical = canonical_url(entry_id)
        if canonical:
            keys.add(canonical)
    return frozenset(keys)
