"""The parse jobs, as they run in a worker process (:mod:`monitor.ingest.parseworker`
sends them there).

A worker unpickles a job by importing its module: this one imports only the pre-scan
(:mod:`monitor.ingest.changes`) and the models, never asyncio or logging (the pool's
side), so a worker starts in ~40 ms of CPU rather than ~75 ms; feedparser and the
normalizer are imported at the first parse, so a worker whose pre-scans found
nothing new never loads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.ingest.changes import select_changed
from monitor.models import FeedRef, Item

if TYPE_CHECKING:
    from monitor.ingest.parse import ParsedFeed

__all__ = ["ChangedFeed", "changed_job", "items_job", "parse_job"]


@dataclass(frozen=True)
class ChangedFeed:
    """What :func:`changed_job` found: signatures to keep, and the parsed entries.

    ``meta`` is None when no entry changed (nothing was parsed); ``entries`` counts
    the document's entries (the pre-scan's, else the parse's); ``changed`` is -1 when
    the pre-scan was unsure (the whole body was parsed). ``reading`` is the feed's
    reading the parse used (:mod:`monitor.ingest.mislabel`: ``"utf-8"``, ``"declared"``,
    ``"label"`` or None: never decided), decided on this body when the job was asked to.
    ``carried``: for a feed read anew (``"redecide"``), ``{old key: new key}`` of its
    entries whose key the new reading changes (:mod:`monitor.ingest.carryover`).
    """

    signatures: str  # feeds.entry_digests text (ingest/changes.py)
    entries: int
    changed: int
    meta: ParsedFeed | None = None
    items: list[Item] = field(default_factory=list)
    entry_ids: tuple[str, ...] = ()  # the pre-scan's id of every entry, unchanged ones too
    reading: str | None = None
    carried: dict[str, str] = field(default_factory=dict)


def parse_job(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """:func:`~monitor.ingest.parse.parse_feed` of ``body`` (raises ParseError)."""
    from monitor.ingest.parse import parse_feed

    return parse_feed(body, url, content_type)


def items_job(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    reading: str | None = None,
) -> tuple[ParsedFeed, list[Item]]:
    """The feed's metadata (no entries; skipped entries of parse and normalization
    together, by position) and its normalized Items. ``reading``: as
    :func:`changed_job`'s, ``"decide"`` deciding on ``body``. Raises ParseError."""
    from monitor.ingest.normalize import normalize_entries
    from monitor.ingest.parse import parse_feed

    parsed = parse_feed(body, url, content_type, reading=_decided(reading, body, content_type))
    items, skipped = normalize_entries(parsed, feed, now)
    every = tuple(sorted(parsed.skipped + tuple(skipped)))
    return replace(parsed, entries=[], skipped=every), items


def changed_job(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    previous: str | None,
    reading: str | None = None,
) -> ChangedFeed:
    """Select the new or edited entries of ``body`` (against the entry signatures
    ``previous``) and parse them into Items. Raises ParseError.

    ``reading`` is the feed's (:mod:`monitor.ingest.mislabel`): ``"utf-8"``,
    ``"declared"``, ``"label"`` or None (never decided) for every parse, partial or
    whole, alike; ``"decide"`` decides it first on the whole ``body``, never on the
    part selected; ``"redecide"`` as well, and pairs the keys of every entry of the
    document under the old and the new reading (``ChangedFeed.carried``), unless the
    document is not well-formed XML: then nothing is decided (``reading`` None).
    """
    from monitor.ingest.mislabel import REDECIDE

    carried: dict[str, str] = {}
    asked, reading = reading, _decided(reading, body, content_type)
    if asked == REDECIDE and reading is not None:
        from monitor.ingest.carryover import carried_keys

        found = carried_keys(body, url, content_type, feed, now, reading)
        if found is None:  # read loosely: decides nothing, read as before (no reading)
            reading = None
        carried = found or {}
    selection = select_changed(body, previous)
    ids = selection.ids
    if selection.body is None:
        return ChangedFeed(
            selection.signatures,
            selection.entries,
            0,
            entry_ids=ids,
            reading=reading,
            carried=carried,
        )
    meta, items = items_job(selection.body, url, content_type, feed, now, reading)
    # The pre-scan unsure (-1): the whole body was parsed, so the parse counted them all.
    entries = selection.entries if selection.entries >= 0 else meta.found
    return ChangedFeed(
        selection.signatures, entries, selection.changed, meta, items, ids, reading, carried
    )


def _decided(reading: str | None, body: bytes, content_type: str | None) -> str | None:
    """``reading``, or for ``"decide"`` and ``"redecide"`` the reading decided on
    ``body`` (a whole one)."""
    from monitor.ingest.mislabel import DECIDE, REDECIDE, decide_reading

    return decide_reading(body, content_type) if reading in (DECIDE, REDECIDE) else reading
