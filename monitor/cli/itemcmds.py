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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.cli.messages import count
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
SHOWN_SUMMARY = 200  # characters of a summary `fetch` prints as text


async def cmd_test_rule(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``test-rule``: exit 0 when some item matched, 1 when none did, 2 when the query
    does not parse or a SOURCE could not be read.

    Sources are read within ``config``'s limits (see the module docstring). A source
    that cannot be read is one line on stderr and the others are still read and shown,
    the summary line counting the failures; when none could be read, nothing is
    printed on stdout.
    """
    try:
        rules = RuleSet([("query", args.query, args.stem)])
    except RuleSyntaxError as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, RuleSyntaxError) else exc
        print(f"query:1:{exc.column}: {cause}", file=sys.stderr)  # not "rule 'query': …"
        return 2
    read = await _items(args.sources, read_items, config)
    if read.failed and not read.read:
        return 2
    matched = _show_matches(args, rules, read.items)
    if not args.json:
        failed = f"; {read.failed} of {count(read.failed + read.read, 'source')} failed"
        print(f"{matched} of {len(read.items)} items match" + (failed if read.failed else ""))
    return 2 if read.failed else 0 if matched else 1


def _show_matches(args: argparse.Namespace, rules: RuleSet, items: list[Item]) -> int:
    """Print each item's match as ``args`` asks (``--json``, ``--explain``, ``--all``);
    how many matched."""
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
    return matched


def _explain_text(rules: RuleSet, item: Item, match: Match | None) -> str:
    """The match (or no match) line of ``item`` followed by its explanation tree."""
    tree = rules.explain("query", item.fields()).format(item.fields(), indent="    ")
    return f"{_match_text(item, match)}\n  why:\n{tree}\n"


async def cmd_fetch(args: argparse.Namespace, config: MonitorConfig) -> int:
    """``fetch SOURCE``: print the feed's normalized items, read within ``config``'s
    limits; exit 2 (one line on stderr, nothing on stdout) when it cannot be read.
    A value the item lacks (link, date, title, summary) is shown as ``-``; a summary
    over :data:`SHOWN_SUMMARY` characters is cut at a word and ends in `` …``
    (``--json`` gives it whole)."""
    read = await _items([args.source], read_feed, config)
    for item in read.items:
        if args.json:
            print(json_line(_item_json(item)))
        else:
            when = item.published.isoformat() if item.published else "-"
            summary = item.summary
            if len(summary) > SHOWN_SUMMARY:  # cut at a space, and say so (--json: whole)
                summary = summary[:SHOWN_SUMMARY].rsplit(" ", 1)[0].rstrip() + " …"
            print(
                f"{item.title or '-'}\n  id: {item.id}\n  link: {item.link or '-'}\n"
                f"  published: {when}\n  summary: {summary or '-'}\n"
            )
    return 2 if read.failed else 0


@dataclass
class _Read:
    """What :func:`_items` read: the items, and how many sources gave them or failed."""

    items: list[Item] = field(default_factory=list)
    read: int = 0
    failed: int = 0


async def _items(sources: list[str], reader: Any, config: MonitorConfig) -> _Read:
    """The items of every source (stdin when there is none), in order. A source that
    cannot be read is one line on stderr (:func:`source_error`) and counted; the
    others are still read. Standard input that cannot be read raises MonitorError."""
    limits = SourceLimits.from_config(config)
    pool = parse_pool(config)
    try:
        if not sources:
            return _Read([await stdin_item(limits=limits, pool=pool)], read=1)
        now = datetime.now(UTC)
        found = _Read()
        async with make_client(guarded=True) as client:
            for source in sources:
                try:
                    found.items += await reader(client, source, now, limits=limits, pool=pool)
                    found.read += 1
                except MonitorError as exc:
                    print(f"news-monitor: {source_error(source, str(exc))}", file=sys.stderr)
                    found.failed += 1
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
