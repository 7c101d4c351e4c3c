"""A poll's items matched off the event loop, with the highlights they store capped.

Matching one large item (200,000 characters of content: analysis, the presearch, each
rule, a highlight for every occurrence of every term) costs CPU time in proportion to
its text; a feed of 50 such items with 15 rules held the event loop for 80-116 s in
issue #14, past systemd's ``WatchdogSec``, so the daemon was killed mid-poll. Here
items are hashed, matched and fingerprinted in the runtime's match thread, a slice of
at most :data:`SLICE_SECONDS` per call (at least one item), so a small feed's items
take their turn between a large feed's and the loop keeps running (the thread gives
the GIL back every few milliseconds). A call per item cost ~30 us of the loop's and
the thread's time: a third of a first poll's matching of ordinary items. The store
runs on its own thread (:mod:`monitor.store.runner`), not on the loop.

A term repeated 30,000 times in an item gave 30,000 stored spans (~400 MB for that
poll): a stored match keeps at most :data:`MAX_HIGHLIGHTS` highlights and its JSON at
most :data:`MAX_MATCH_BYTES`. Alerts mark what is shown around the first highlights,
so those are the ones kept (:func:`capped`).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from monitor.dedup import canonical_url, content_hash, fingerprint, same_content
from monitor.dedup.fingerprint import fingerprints
from monitor.models import Highlight, Item, Match
from monitor.rules.index import RuleSet
from monitor.rules.query import Document
from monitor.runtime import Runtime
from monitor.store.codec import match_to_json

__all__ = [
    "MAX_HIGHLIGHTS",
    "MAX_MATCH_BYTES",
    "Prepared",
    "capped",
    "holding",
    "prepare",
    "prepare_items",
    "prepare_slice",
]

MAX_HIGHLIGHTS = 20  # per rule per item
MAX_MATCH_BYTES = 8 * 1024  # a stored match's JSON (terms and highlights), UTF-8
DIRECT_RULES = 8  # up to this many rules to hold, each is evaluated without the presearch
SLICE_SECONDS = 0.01  # the match thread's work per call, then the next poll's turn


@dataclass(frozen=True)
class Prepared:
    """What the poll stores for one item, computed off the loop.

    ``changed`` is False for a known item whose text is as stored (nothing else is
    computed then); ``fingerprint`` and ``canonical`` are only computed for new items.
    """

    digest: str
    changed: bool = True
    matches: tuple[Match, ...] = ()
    fingerprint: int | None = None
    canonical: str | None = None


def prepare(
    rules: RuleSet,
    watching: Collection[str],
    item: Item,
    stored_digest: str | None,
    new: bool,
    baseline: bool = False,
    fingerprinted: bool = True,
) -> Prepared:
    """Hash ``item``; if new or edited (its hash is not ``stored_digest``), match it
    against the rules named in ``watching`` (highlights capped) and, if ``new``,
    fingerprint it and canonicalize its link. Pure: runs in the match thread.

    ``baseline`` marks a new item of a feed's first poll that backfill will not
    alert: it is matched for the rule names alone (:func:`holding`: no terms, no
    highlights, a fraction of the cost); it is fingerprinted and its link made
    canonical as any new item's, so a later copy still joins its story.

    ``fingerprinted=False`` leaves a new item's ``fingerprint`` None, for a caller
    that computes a slice's fingerprints together (:func:`prepare_slice`).
    """
    digest = content_hash(item)
    if not new and same_content(digest, stored_digest):
        return Prepared(digest, changed=False)
    if new and baseline:
        matches = holding(rules, watching, item)
    else:
        found = rules.match(item.fields(), only=watching) if watching else []
        matches = tuple(capped(m) for m in found)
    if not new:
        return Prepared(digest, matches=matches)
    found_print = fingerprint(item) if fingerprinted else None
    return Prepared(digest, True, matches, found_print, canonical_url(item.link))


def holding(rules: RuleSet, watching: Collection[str], item: Item) -> tuple[Match, ...]:
    """The rules named in ``watching`` that ``item`` matches, in rule order, as matches
    without terms or highlights (what a first-poll baseline match stores): only whether
    each rule holds, not every place its terms occur, which is most of matching's cost.

    As :meth:`RuleSet.match` does, a few rules are evaluated directly, more through
    the presearch (only its candidates can hold).
    """
    if not watching:
        return ()
    doc = Document.from_fields(item.fields())
    names, numbers = _rule_order(rules)
    if len(watching) <= DIRECT_RULES:
        held: Iterable[str] = sorted((n for n in watching if n in numbers), key=numbers.get)
    else:
        held = (names[n] for n in rules.candidates(doc) if names[n] in watching)
    return tuple(Match(name, ()) for name in held if rules.query(name).root.holds(doc))


_ORDER: weakref.WeakKeyDictionary[RuleSet, tuple[tuple[str, ...], dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)


def _rule_order(rules: RuleSet) -> tuple[tuple[str, ...], dict[str, int]]:
    """The rule names in rule order, and each one's number: made once per rule set
    (``RuleSet.names`` builds a new tuple on every call)."""
    order = _ORDER.get(rules)
    if order is None:
        names = rules.names
        order = _ORDER[rules] = (names, {name: n for n, name in enumerate(names)})
    return order


async def prepare_items(
    rt: Runtime,
    watching: Collection[str],
    items: Mapping[str, Item],
    stored: Mapping[str, str | None],
    baseline: Collection[str] = (),
) -> dict[str, Prepared]:
    """:func:`prepare` each of ``items`` (by key) in the runtime's match thread, in
    slices of :data:`SLICE_SECONDS` (:func:`prepare_slice`). ``stored``: the stored
    content hash of each known key; a key not in it is a new item. ``baseline``: the
    keys of new items backfill will not alert (see :func:`prepare`). The rule set is
    the one current at the call (a reload mid-poll does not mix two)."""
    rules, loop = rt.rules, asyncio.get_running_loop()
    todo = [
        (key, item, stored.get(key), key not in stored, key in baseline)
        for key, item in items.items()
    ]
    out: dict[str, Prepared] = {}
    while len(out) < len(todo):
        start = len(out)
        done = await loop.run_in_executor(
            rt.match_thread, prepare_slice, rules, watching, todo, start, SLICE_SECONDS
        )
        for position, ready in enumerate(done, start):
            out[todo[position][0]] = ready
    return out


def prepare_slice(
    rules: RuleSet,
    watching: Collection[str],
    todo: Sequence[tuple[str, Item, str | None, bool, bool]],
    start: int,
    seconds: float,
) -> list[Prepared]:
    """:func:`prepare` of ``todo[start:]`` (each ``(key, item, stored_digest, new,
    baseline)``) in order, until ``seconds`` (wall clock) have passed: at least one
    item, at most all. Runs in the match thread.

    The new items' fingerprints are computed after the deadline, in one numpy pass
    (:func:`monitor.dedup.fingerprint.fingerprints`: ~25 us an item instead of ~50
    one by one), so a slice runs a little past ``seconds``."""
    deadline = time.perf_counter() + seconds
    done = []
    for position in range(start, len(todo)):  # no copy of the rest: a feed may hold 50,000
        _key, item, stored_digest, new, quiet = todo[position]
        done.append(prepare(rules, watching, item, stored_digest, new, quiet, False))
        if time.perf_counter() >= deadline:
            break
    new_ones = [n for n in range(len(done)) if todo[start + n][3]]
    printed = fingerprints([todo[start + n][1] for n in new_ones])
    for n, value in zip(new_ones, printed, strict=True):
        if value is not None:  # the constructor: dataclasses.replace costs ~3 us more
            ready = done[n]
            done[n] = Prepared(ready.digest, ready.changed, ready.matches, value, ready.canonical)
    return done


def capped(
    match: Match, max_highlights: int = MAX_HIGHLIGHTS, max_bytes: int = MAX_MATCH_BYTES
) -> Match:
    """``match`` with at most ``max_highlights`` highlights and a stored JSON of at most
    ``max_bytes`` (UTF-8).

    Kept first: the first occurrence of each term in each field (so every matched term
    can still be marked), then the rest in text order; the kept ones stay in the
    match's order (field, offset). Past the byte cap, highlights go from the end, then
    terms.
    """
    spans = match.highlights
    if len(spans) > max_highlights:
        seen: set[tuple[str, str]] = set()
        firsts = []
        for h in spans:
            if (h.field, h.term) not in seen:
                seen.add((h.field, h.term))
                firsts.append(h)
        keep = set(firsts[:max_highlights])
        for h in spans:
            if len(keep) >= max_highlights:
                break
            keep.add(h)
        spans = tuple(h for h in spans if h in keep)
        match = replace(match, highlights=spans)
    while len(match_to_json(match).encode()) > max_bytes and (match.highlights or match.terms):
        if match.highlights:
            match = replace(match, highlights=_fewer(match.highlights))
        else:
            match = replace(match, terms=match.terms[: len(match.terms) // 2])
    return match


def _fewer(spans: tuple[Highlight, ...]) -> tuple[Highlight, ...]:
    """About three quarters of ``spans`` (the first ones): a few steps to any cap."""
    return spans[: len(spans) * 3 // 4]
