"""Turning models into JSON text for the database and back, and timestamps into text.

Timestamps are stored as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), which sorts as text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.models import FeedRef, Highlight, Item, Match


def ts(moment: datetime | None) -> str | None:
    """A UTC timestamp as sortable text (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_before(moment: datetime) -> datetime:
    """``moment`` rounded *up* to the second: a "not before" time as it is stored.

    Timestamps are stored to the second; truncating a retry time would make a
    sub-second backoff come due at once.
    """
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def ts_not_before(moment: datetime) -> str:
    """Like :func:`ts` for a "not before" time (see :func:`not_before`)."""
    return ts(not_before(moment)) or ""


def parse_ts(text: str | None) -> datetime | None:
    """The inverse of :func:`ts`."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def item_to_json(item: Item) -> str:
    """Serialize an Item (without secrets: items carry none)."""
    return json.dumps(
        {
            "feed": [item.feed.name, item.feed.url],
            "id": item.id,
            "title": item.title,
            "link": item.link,
            "guid": item.guid,
            "summary": item.summary,
            "content": item.content,
            "published": ts(item.published),
            "author": item.author,
            "tags": list(item.tags),
            "lang": item.lang,
        },
        ensure_ascii=False,
    )


def item_from_json(text: str) -> Item:
    """Deserialize what :func:`item_to_json` wrote."""
    data = json.loads(text)
    return Item(
        feed=FeedRef(*data["feed"]),
        id=data["id"],
        title=data["title"],
        link=data["link"],
        guid=data["guid"],
        summary=data["summary"],
        content=data["content"],
        published=parse_ts(data["published"]),
        author=data["author"],
        tags=tuple(data["tags"]),
        lang=data["lang"],
    )


def match_to_json(match: Match) -> str:
    """Serialize a Match's terms and highlights (the rule name is a column)."""
    spans = [[h.field, h.start, h.end, h.term] for h in match.highlights]
    return json.dumps({"terms": list(match.terms), "highlights": spans}, ensure_ascii=False)


def match_from_json(rule: str, text: str) -> Match:
    """Deserialize what :func:`match_to_json` wrote."""
    data = json.loads(text)
    highlights = tuple(Highlight(*h) for h in data["highlights"])
    return Match(rule=rule, terms=tuple(data["terms"]), highlights=highlights)
