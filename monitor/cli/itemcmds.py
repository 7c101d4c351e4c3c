"""The commands that read items rather than the daemon's state: ``test-rule``, ``fetch``.

They fetch or read the sources they are given (feeds, files, stdin), so an analyst
can try a rule or look at a feed before it goes into the config. They use the
config's limits (``defaults.timeout``, ``defaults.max_bytes``, the parse limits,
``allow_private_networks``), or the documented defaults when there is no config file,
and parse in a worker as the daemon does (:mod:`monitor.cli.sources`).
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.cli.sources import (
    SourceLimits,
    as_url,
    is_url,
    parse_pool,
    read_feed,
    read_items,
    stdin_item,
)
from monitor.config import MonitorConfig
from monitor.errors import MonitorError, RuleSyntaxError
from monitor.ingest.fetch import make_client
from monitor.ingest.urlguard import shown_url
from monitor.models import Item, Match
from monitor.redact import redact_url
from monitor.rules.index import RuleSet
from monitor.terminal import json_line

__all__ = ["cmd_fetch", "cmd_test_rule"]


async def cmd_test_rule(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``test-rule``: exit 0 when some item matched, 1 when none did.

    Sources are read within ``config``'s limits (see the module docstring).
    """
    try:
        rules = RuleSet([("query", args.query)])
    except RuleSyntaxError as exc:
        print(f"query:1:{exc.column}: {exc}", file=sys.stderr)
        return 2
    items = await _items(args.sources, read_items, config)
    explain = getattr(args, "explain", False)
    matched = 0
    for item in items:
        found = rules.match(item.fields())
        match = found[0] if found else None
        matched += match is not None
        if args.json:
            record = _match_json(item, match)
            if explain:
                record["explain"] = rules.explain("query", item.fields()).to_dict()
            print(json_line(record))
        elif explain:
            print(_explain_text(rules, item, match))
        elif match or args.all:
            print(_match_text(item, match))
    if not args.json:
        print(f"{matched} of {len(items)} items match")
    return 0 if matched else 1


def _explain_text(rules: RuleSet, item: Item, match: Match | None) -> str:
    """The match (or no match) line of ``item`` followed by its explanation tree."""
    tree = rules.explain("query", item.fields()).format(item.fields(), indent="    ")
    return f"{_match_text(item, match)}\n  why:\n{tree}\n"


async def cmd_fetch(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``fetch SOURCE``: print the feed's normalized items, read within ``config``'s limits."""
    for item in await _items([args.source], read_feed, config):
        if args.json:
            print(json_line(_item_json(item)))
        else:
            when = item.published.isoformat() if item.published else "-"
            print(
                f"{item.title}\n  id: {item.id}\n  link: {item.link}\n  published: {when}\n"
                f"  summary: {item.summary[:200]}\n"
            )
    return 0


async def _items(sources: list[str], reader: Any, config: MonitorConfig) -> list[Item]:
    limits = SourceLimits.from_config(config)
    pool = parse_pool(config)
    try:
        if not sources:
            return [await stdin_item(limits=limits, pool=pool)]
        now = datetime.now(UTC)
        async with make_client(guarded=True) as client:
            found: list[Item] = []
            for source in sources:
                try:
                    found += await reader(client, source, now, limits=limits, pool=pool)
                except MonitorError as exc:
                    raise MonitorError(source_error(source, str(exc))) from None
            return found
    finally:
        await pool.close()


def source_error(source: str, message: str) -> str:
    """The one line for a SOURCE that could not be read, named once, as typed.

    A URL is shown redacted and on one line (:func:`shown_url`). A path is shown as
    typed, never as the ``file:`` URL it was read through: when the file cannot be
    opened, ``PATH: cannot read: REASON`` (the system's words); otherwise the
    fetcher's or parser's message with its ``file:`` URL replaced by the path.
    """
    if is_url(source):
        if message.startswith((source, redact_url(source), shown_url(source))):
            return message
        return f"{shown_url(source)}: {message}"
    try:  # non-blocking: a FIFO (`<(cmd)`) whose writer has gone must not hang here
        os.close(os.open(source, os.O_RDONLY | os.O_NONBLOCK))
        if os.path.isdir(source):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    except OSError as exc:
        return f"{source}: cannot read: {exc.strerror or exc}"
    url = as_url(source)
    if message.startswith(url + ":"):
        return source + message[len(url) :]
    return message if message.startswith(source + ":") else f"{source}: {message}"


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "guid": item.guid,
        "title": item.title,
        "link": item.link,
        "published": item.published.isoformat() if item.published else None,
        "author": item.author,
        "tags": list(item.tags),
        "lang": item.lang,
        "feed": {"name": item.feed.name, "url": item.feed.url},
        "summary": item.summary,
        "content": item.content,
    }


def _match_json(item: Item, match: Match | None) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "link": item.link,
        "matched": match is not None,
        "terms": list(match.terms) if match else [],
        "highlights": [
            {"field": h.field, "start": h.start, "end": h.end, "term": h.term}
            for h in (match.highlights if match else ())
        ],
    }


def _match_text(item: Item, match: Match | None) -> str:
    if match is None:
        return f"  no match: {item.title or item.id}"
    lines = [
        f"MATCH {item.title or item.id}",
        f"  link: {item.link or '-'}",
        f"  terms: {', '.join(match.terms)}",
    ]
    fields = item.fields()
    for h in match.highlights[:5]:
        text = fields[h.field]
        before = text[max(0, h.start - 40) : h.start].replace("\n", " ")
        after = text[h.end : h.end + 40].replace("\n", " ")
        lines.append(f"  {h.field}: …{before}«{text[h.start : h.end]}»{after}…")
    return "\n".join(lines)
