"""How a story is shown in a message: which of its items, its highlights, the rest listed.

A story is the item that started it (its *lead*) and every item that joined it. For
the rules a message carries, the message shows the first of those items that
matched one of them (the lead when it did): the title, link and text shown are then
what the rule read, and its highlights fall on the words that matched. A rule that
matched only another item of the story has that item's highlights carried over to
the shown text where the same words stand (:func:`anchor`), and dropped where they
do not. Every other item is listed as a duplicate ("Also reported by"), except a
re-issued copy that reads like one already shown or listed (same feed, same title).

Pure: the outbox reads the items and matches; this module decides what is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from monitor.dedup.folding import title_key
from monitor.models import Duplicate, Highlight, Item, Match, Story

_UNSPACED_FROM = 0x2E80  # CJK radicals onwards: Han, kana, Hangul syllables


@dataclass(frozen=True)
class Member:
    """One item of a story as stored: the item and its matches, by rule."""

    item: Item
    matches: Mapping[str, Match]


def compose(story_id: int, members: Sequence[Member], rules: Sequence[str]) -> Story:
    """The story ``story_id`` as a message carrying ``rules`` shows it.

    ``members`` are the story's items, oldest first (the lead first); each rule's
    match is the shown item's own, else the first other item's, anchored to the
    shown text. The story's id names the lead, so it is the same on every retry.
    """
    lead = members[0]
    shown = next((m for m in members if any(r in m.matches for r in rules)), lead)
    matches = []
    for rule in rules:
        source = next((m for m in (shown, *members) if rule in m.matches), None)
        if source is not None:
            matches.append(anchor(source.matches[rule], source.item, shown.item))
    others = (m.item for m in members if m is not shown)
    story_key = f"s{story_id}-{lead.item.id}"[:200]
    return Story(story_key, shown.item, tuple(matches), duplicates(shown.item, others))


def anchor(match: Match, matched: Item, shown: Item) -> Match:
    """``match`` (made on ``matched``) with its highlights moved onto ``shown``'s text.

    Each highlight's words, as they stand in ``matched``, are looked for as whole
    words (case-insensitively) in the same field of ``shown``; every place they stand
    is highlighted, and a highlight whose words are not there is dropped.
    """
    if matched is shown:
        return match
    source, target = matched.fields(), shown.fields()
    moved: dict[Highlight, None] = {}
    for h in match.highlights:
        words = source.get(h.field, "")[h.start : h.end]
        if not words.strip():
            continue
        for found in _whole(words).finditer(target.get(h.field, "")):
            moved[Highlight(h.field, found.start(), found.end(), h.term)] = None
    return replace(match, highlights=tuple(moved))


def _whole(words: str) -> re.Pattern[str]:
    """``words`` as a case-insensitive pattern that does not start or end inside a word.

    Chinese and Japanese put no spaces between words, and Korean attaches particles
    to them (``평양`` in ``평양에서``): at the edge of such a word any neighbour will do.
    """
    before = r"(?<!\w)" if _spaced(words[0]) else ""
    after = r"(?!\w)" if _spaced(words[-1]) else ""
    return re.compile(before + re.escape(words) + after, re.IGNORECASE)


def _spaced(char: str) -> bool:
    """Whether ``char`` belongs to a word of a script that separates words by spaces."""
    return char.isalnum() and ord(char) < _UNSPACED_FROM


def duplicates(shown: Item, others: Iterable[Item]) -> tuple[Duplicate, ...]:
    """Every other item of the story, oldest first, once per (feed, title).

    An item whose feed and title are those of the shown item or of one already
    listed is the same item re-issued under a new guid or link (Google News style)
    and adds nothing to read; every other item is listed. Untitled items are told
    apart by their id.
    """
    seen = {_reads_as(shown)}
    listed = []
    for item in others:
        key = _reads_as(item)
        if key not in seen:
            seen.add(key)
            listed.append(Duplicate(item.guid, item.title, item.link, item.feed))
    return tuple(listed)


def _reads_as(item: Item) -> tuple[str, str]:
    return item.feed.url, title_key(item.title) or item.id
