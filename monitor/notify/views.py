"""What templates see: plain values built from digests, stories and items.

:func:`digest_view` turns a :class:`~monitor.models.Digest` into dicts, lists and
strings only (no model objects reach a template): each story's title and link, its
duplicates, when and where it was published, and a snippet of its text with the
matched terms marked (``highlight_segments``; only highlights that mark their term
in the text shown, :mod:`monitor.notify.highlights`). Titles, feed names and authors are
flattened to one line without control characters and cut to a bound here, snippets
and duplicate lists are bounded too: a template never sees a raw newline in a title
or an unbounded value.

Times are shown in the channel's time zone (``timezone`` in the config) with the
zone named: ``published`` is a ready-made string such as ``2026-11-30 07:00 KST``,
``published_time`` the same moment as an aware :class:`~datetime.datetime` for the
``localtime`` filter (:func:`localtime`).

A story's view is built once while the story object lives and copied for each
render (:func:`story_view`): one delivery renders its digest several times.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.models import Digest, Highlight, Item, Story
from monitor.notify.highlights import marks_term, shown

__all__ = [
    "SUBJECT_MAX",
    "digest_view",
    "groups_of",
    "highlight_segments",
    "in_zone",
    "localtime",
    "marks_term",
    "newest_first",
    "one_line",
    "story_view",
    "utc_iso",
]

SUBJECT_MAX = 200
SNIPPET_CHARS = 300
TITLE_MAX = 500
DUPLICATES_SHOWN = 20
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def highlight_segments(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(segment, is_match)`` pieces; overlapping spans merge."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments: list[tuple[str, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            segments.append((text[pos:start], False))
        segments.append((text[start:end], True))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (control characters become spaces), at most ``limit`` chars."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _segment_dicts(segments: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Collapse whitespace inside segments and drop empty ones."""
    out = [{"text": _SPACE.sub(" ", text), "match": hit} for text, hit in segments]
    if out:
        out[0]["text"] = out[0]["text"].lstrip()
        out[-1]["text"] = out[-1]["text"].rstrip()
    return [s for s in out if s["text"]]


def _snippet(item: Item, highlights: Sequence[Highlight]) -> list[dict[str, Any]]:
    """About SNIPPET_CHARS of summary (else content) around the first highlight."""
    fields = item.fields()
    name = next(
        (f for f in ("summary", "content") if any(h.field == f for h in highlights)),
        "summary" if item.summary.strip() else "content",
    )
    text = fields[name]
    spans = sorted((h.start, h.end) for h in highlights if h.field == name)
    if not text.strip():
        return []
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET_CHARS // 3)
    if start > 0:
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start + SNIPPET_CHARS // 2, end)
        end = space if space != -1 else end
    window = [(s - start, e - start) for s, e in spans if e > start and s < end]
    segments = _segment_dicts(highlight_segments(text[start:end], window))
    if start > 0:
        segments.insert(0, {"text": "…", "match": False})
    if end < len(text):
        segments.append({"text": "…", "match": False})
    return segments


def utc_iso(value: datetime | None) -> str | None:
    """``value`` in UTC as ``2018-08-15T11:41:00Z`` (naive means UTC); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_zone(value: datetime | None, timezone: str) -> datetime | None:
    """``value`` as an aware datetime in the IANA zone ``timezone`` (naive means UTC)."""
    return None if value is None else _in_zone(value, timezone)


def _in_zone(value: datetime, timezone: str) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(timezone))


def localtime(value: datetime | None, timezone: str, fmt: str | None = None) -> str:
    """``value`` in ``timezone`` as text: ``fmt`` (strftime), else minutes with the zone named.

    The zone is named by its abbreviation (``2026-11-30 07:00 KST``); where the
    zone database has only a numeric one, by its offset and IANA name
    (``2026-11-30 07:00 +04 (Asia/Dubai)``). None is the empty string. Raises
    TypeError for anything but a datetime (the strings of a view are already text).
    """
    if value is None:
        return ""
    if not isinstance(value, datetime):
        raise TypeError(f"localtime needs a datetime (e.g. story.published_time), not {value!r}")
    local = _in_zone(value, timezone)
    if fmt is not None:
        return local.strftime(fmt)
    abbreviation = local.strftime("%Z")
    if abbreviation.isalpha():
        return f"{local:%Y-%m-%d %H:%M} {abbreviation}"
    return f"{local:%Y-%m-%d %H:%M} {abbreviation} ({timezone})"


def _time(value: datetime | None, timezone: str) -> str | None:
    return None if value is None else localtime(value, timezone)


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links reach templates (no ``javascript:``)."""
    if url and re.match(r"(?i)https?://[^\s]+$", url.strip()):
        return url.strip()
    return None


# Views built, by (id(story), rule or None, zone), while their story lives (weakly).
_VIEWS: dict[tuple[int, str | None, str], tuple[weakref.ref[Story], dict[str, Any]]] = {}


def story_view(story: Story, rule: str | None = None, timezone: str = "UTC") -> dict[str, Any]:
    """The plain values a template sees for one story (under ``rule`` if given).

    Only highlights that mark their term in the shown text are used (:func:`marks_term`).
    Times are in ``timezone`` (the channel's IANA zone).

    One delivery renders a digest several times (subject, text and HTML; the size
    check, then the send; the binary search of :mod:`monitor.notify.limits` over the
    count of stories), so a story's view is built once while the story object lives
    (remembered by identity, weakly: gone with the story) and each call gets its own
    copy of it (a template can change what it is given without changing the next
    render's). A story is frozen, so its view for a rule and a zone never changes.
    """
    chosen = rule if any(m.rule == rule for m in story.matches) else None
    if chosen is not None and all(m.rule == rule for m in story.matches):
        chosen = None  # every match is under ``rule``: the same view as without it
    key = (id(story), chosen, timezone)
    known = _VIEWS.get(key)
    if known is not None and known[0]() is story:
        return _copied(known[1])
    view = _story_view(story, chosen, timezone)
    try:
        ref = weakref.ref(story, lambda gone: _forget(key, gone))
    except TypeError:  # a story type without weak references: not remembered
        return view
    _VIEWS[key] = (ref, view)
    return _copied(view)


def _forget(key: tuple[int, str | None, str], gone: weakref.ref[Story]) -> None:
    """Drop a dead story's view (unless the key already holds another story's)."""
    known = _VIEWS.get(key)
    if known is not None and known[0] is gone:
        del _VIEWS[key]


def _copied(view: dict[str, Any]) -> dict[str, Any]:
    """A story view with every dict and list in it copied (strings and times shared).

    By the shape :func:`_story_view` builds (a test checks that no dict or list is
    shared): ~10 us a view, a generic recursive copy took ~50.
    """
    out = view.copy()
    out["feed"] = view["feed"].copy()
    out["rules"] = view["rules"].copy()
    out["terms"] = view["terms"].copy()
    out["title_segments"] = [s.copy() for s in view["title_segments"]]
    out["snippet_segments"] = [s.copy() for s in view["snippet_segments"]]
    out["duplicates"] = [{**d, "feed": d["feed"].copy()} for d in view["duplicates"]]
    return out


def _story_view(story: Story, rule: str | None, timezone: str) -> dict[str, Any]:
    """:func:`story_view`, built."""
    matches = [m for m in story.matches if rule is None or m.rule == rule] or story.matches
    item = story.item
    highlights = shown(item, [h for m in matches for h in m.highlights])
    title = item.title or item.link or "(untitled)"
    title_spans = [(h.start, h.end) for h in highlights if h.field == "title"]
    duplicates = [
        {
            "title": one_line(d.title, TITLE_MAX),
            "url": _safe_url(d.url),
            "feed": {"name": one_line(d.feed.name, 200), "url": d.feed.url},
        }
        for d in story.duplicates
    ]
    snippet = _snippet(item, highlights)
    return {
        "id": story.id,
        "title": one_line(title, TITLE_MAX),
        "title_segments": _segment_dicts(highlight_segments(title[:TITLE_MAX], title_spans)),
        "url": _safe_url(item.link),
        "feed": {"name": one_line(item.feed.name, 200), "url": item.feed.url},
        "published": _time(item.published, timezone),
        "published_time": in_zone(item.published, timezone),
        "author": one_line(item.author or "", 200),
        "rules": list(story.rules),
        "terms": list(dict.fromkeys(t for m in matches for t in m.terms)),
        "snippet": "".join(s["text"] for s in snippet),
        "snippet_segments": snippet,
        "duplicates": duplicates[:DUPLICATES_SHOWN],
        "more_duplicates": max(0, len(duplicates) - DUPLICATES_SHOWN),
    }


def newest_first(stories: Sequence[Story]) -> list[Story]:
    """Stories by publication time, newest first; undated ones last, in arrival order."""
    oldest = datetime.min.replace(tzinfo=UTC)

    def when(story: Story) -> datetime:
        published = story.item.published
        if published is None:
            return oldest
        return published if published.tzinfo else published.replace(tzinfo=UTC)

    return sorted(stories, key=when, reverse=True)


def groups_of(digest: Digest) -> list[tuple[str, list[Story]]]:
    """The digest's stories grouped by rule (first-seen rule order), newest first in each."""
    return [(rule, newest_first(stories)) for rule, stories in digest.by_rule()]


def digest_view(digest: Digest, prefix: str = "", timezone: str = "UTC") -> dict[str, Any]:
    """The template context: ``digest``, ``groups``, ``stories``, ``prefix``, ``timezone``.

    ``digest.more`` is how many stories did not fit (``max_items``) and wait for the
    next message; ``digest.test`` is true for ``send-test``. Times are in ``timezone``.
    """
    groups = groups_of(digest)
    return {
        "prefix": prefix,
        "timezone": timezone,
        "digest": {
            "id": digest.id,
            "channel": digest.channel,
            "created_at": _time(digest.created_at, timezone),
            "created_time": in_zone(digest.created_at, timezone),
            "test": bool(getattr(digest, "test", False)),
            "story_count": len(digest.stories),
            "rules": [rule for rule, _ in groups],
            "more": int(getattr(digest, "held_back", 0)),
        },
        "groups": [
            {"rule": rule, "stories": [story_view(s, rule, timezone) for s in stories]}
            for rule, stories in groups
        ],
        "stories": [story_view(s, None, timezone) for s in newest_first(digest.stories)],
    }
