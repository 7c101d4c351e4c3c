"""Plain values that flow between the stages: no I/O, no behaviour beyond views.

An :class:`Item` is one normalized feed entry. A :class:`Match` says which rule
matched it and on which terms. A :class:`Story` is an item plus its duplicates, as
one channel will show it. A :class:`Digest` is what one message to one channel
carries; its ``id`` is stable across retries (webhook-id, email Message-ID).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

# Fields a rule can scope with `field:`; see Item.fields().
SEARCH_FIELDS = ("title", "summary", "content", "author", "tags", "feed", "url", "lang")
DEFAULT_FIELDS = ("title", "summary", "content")


@dataclass(frozen=True)
class FeedRef:
    """The feed an item came from, as shown to users."""

    name: str
    url: str


# The id of an item that no guid or link identifies: a hash of its text, so it is
# stable across polls (see monitor.ingest.normalize and monitor.dedup.identity).
TEXT_ID_PREFIX = "sha256:"


@dataclass(frozen=True)
class Item:
    """One feed entry, normalized: plain text fields, UTC time, a stable id."""

    feed: FeedRef
    id: str
    title: str
    link: str | None = None
    guid: str | None = None
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    lang: str | None = None
    # The key an earlier version of news-monitor gave this item, when it differs
    # (see monitor.ingest.entryid.former_key); used once, never stored.
    former_key: str | None = field(default=None, compare=False)

    def fields(self) -> dict[str, str]:
        """The searchable text of this item by field name (see SEARCH_FIELDS)."""
        return {
            "title": self.title,
            "summary": self.summary,
            "content": self.content,
            "author": self.author or "",
            "tags": " ".join(self.tags),
            "feed": self.feed.name,
            "url": self.link or "",
            "lang": self.lang or "",
        }


class Highlight(NamedTuple):
    """Where a query term matched: ``text[start:end]`` of ``field``.

    A named tuple, not a dataclass: a match can carry dozens of them, and a tuple is
    made and hashed in half the time.
    """

    field: str
    start: int
    end: int
    term: str


@dataclass(frozen=True)
class Match:
    """A rule that matched an item, with the terms that made it match."""

    rule: str
    terms: tuple[str, ...]
    highlights: tuple[Highlight, ...] = ()


@dataclass(frozen=True)
class Duplicate:
    """Another outlet's (or another link's) copy of a story, listed with it."""

    guid: str | None
    title: str
    url: str | None
    feed: FeedRef


@dataclass(frozen=True)
class Story:
    """An item as a channel shows it: the rules it matched and its duplicates."""

    id: str
    item: Item
    matches: tuple[Match, ...]
    duplicates: tuple[Duplicate, ...] = ()

    @property
    def rules(self) -> tuple[str, ...]:
        """Names of the rules that matched, in order, without repeats."""
        return tuple(dict.fromkeys(m.rule for m in self.matches))

    @property
    def matched_terms(self) -> tuple[str, ...]:
        """Every matched term over all rules, in order, without repeats."""
        return tuple(dict.fromkeys(t for m in self.matches for t in m.terms))


@dataclass(frozen=True)
class Digest:
    """What one message to one channel carries. ``id`` is reused on every retry."""

    id: str
    channel: str
    created_at: datetime
    stories: tuple[Story, ...] = field(default_factory=tuple)

    def by_rule(self) -> list[tuple[str, list[Story]]]:
        """Stories grouped by rule name (a story under each rule it matched)."""
        groups: dict[str, list[Story]] = {}
        for story in self.stories:
            for rule in story.rules:
                groups.setdefault(rule, []).append(story)
        return list(groups.items())
