"""What an item must contain for a rule to possibly match (Lucene Monitor's presearcher).

For each compiled rule, :func:`requirements` derives a conjunction of *clauses*; each
clause is a set of *keys* of which at least one must occur in the item:

- a word needs its term (its stem in a stemmed rule); a phrase needs each of its
  terms; ``A NEAR/n B`` needs what A and B need;
- a wildcard with a literal prefix of at least :data:`PREFIX_LEN` characters needs the
  key ``prefix*`` (an item term starting with that prefix); other wildcards need
  nothing that can be indexed;
- ``AND`` needs what each child needs; ``OR`` needs, from each child, one of its
  clauses (the union of the children's rarest clauses), and nothing if some child
  needs nothing; ``NOT`` needs nothing.

A rule whose requirements are empty (only negations, ``*kim*``) is always a
candidate. :class:`Keys` files each rule under the keys of its two rarest clauses;
an item's keys find the rules both clauses of which it satisfies, whose other clauses
are then checked with set operations before the rule is evaluated. Every clause is a
necessary condition, so skipping a rule never changes a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter

from monitor.rules.compiler import STOP_WORDS
from monitor.rules.document import Document
from monitor.rules.nodes import (
    AndNode,
    NearNode,
    Node,
    NotNode,
    OrNode,
    PhraseLeaf,
    TermLeaf,
    WildcardLeaf,
)

__all__ = ["PREFIX_LEN", "Clause", "Keys", "Needs", "rarest", "requirements"]

PREFIX_LEN = 3
_PREFIX = itemgetter(slice(0, PREFIX_LEN))  # a term's first PREFIX_LEN characters

Clause = frozenset[str]


@dataclass
class Needs:
    """Fields each kind of key is read from, gathered over all rules of a set."""

    plain: set[str] = field(default_factory=set)  # fields whose terms are keys
    stemmed: set[str] = field(default_factory=set)  # fields whose stems are keys
    prefixed: set[str] = field(default_factory=set)  # fields whose term prefixes are keys


def requirements(node: Node, needs: Needs) -> list[Clause] | None:
    """The clauses ``node`` needs (None: nothing indexable); records fields in ``needs``."""
    if isinstance(node, TermLeaf):
        (needs.stemmed if node.stem else needs.plain).update(node.fields)
        return [frozenset({node.key})]
    if isinstance(node, PhraseLeaf):
        (needs.stemmed if node.stem else needs.plain).update(node.fields)
        return [frozenset({term}) for term in dict.fromkeys(node.terms)]
    if isinstance(node, WildcardLeaf):
        if len(node.prefix) < PREFIX_LEN:
            return None
        needs.prefixed.update(node.fields)
        return [frozenset({node.prefix[:PREFIX_LEN] + "*"})]
    if isinstance(node, NearNode):
        return _and([requirements(node.left, needs), requirements(node.right, needs)])
    if isinstance(node, AndNode):
        return _and([requirements(c, needs) for c in node.children])
    if isinstance(node, OrNode):
        parts = [requirements(c, needs) for c in node.children]
        if any(not p for p in parts):
            return None
        return [frozenset().union(*(rarest(p) for p in parts if p))]
    if isinstance(node, NotNode):
        return None
    raise TypeError(f"unknown node {type(node).__name__}")


def _and(parts: Iterable[list[Clause] | None]) -> list[Clause] | None:
    """The clauses of a conjunction: all of its parts' clauses, without repeats."""
    clauses = list(dict.fromkeys(c for p in parts if p for c in p))
    return clauses or None


def _cost(key: str) -> float:
    """A guess of how often ``key`` occurs in an item: short and stop words are common."""
    if key in STOP_WORDS:
        return 1.0
    if key.endswith("*"):
        return 0.5
    return 1.0 / (1 + len(key.encode())) ** 2


def rarest(clauses: list[Clause]) -> Clause:
    """The clause least likely to be satisfied (the best one to index a rule under)."""
    return min(clauses, key=_order)


class Keys:
    """The presearch index of a rule set: each rule filed under its two rarest clauses.

    A rule is a candidate for an item when a key of its rarest clause *and* a key of
    its second rarest clause are among the item's keys (two set intersections in C,
    instead of checking one clause per rule in Python); its other clauses are then
    checked one by one. Rules with one clause need only the first; rules with none
    are always candidates.

    The ``prefix*`` keys of an item cost a slice per distinct term, so clauses with
    such keys come last: only a rule that has nothing else is filed under one (the
    item's prefixes are then computed); otherwise they are checked after the other
    clauses, for the few rules still in, by a substring search for each prefix.
    """

    def __init__(self) -> None:
        self.needs = Needs()
        self.first: dict[str, list[int]] = {}
        self.second: dict[str, list[int]] = {}
        self.single: set[int] = set()  # rules with exactly one clause
        self.rest: dict[int, tuple[Clause, ...]] = {}  # clauses past the second
        self.prefixed: dict[int, tuple[Clause, ...]] = {}  # later clauses with prefix* keys
        self.always: list[int] = []  # rules with no indexable clause
        self.known: set[str] = set()  # every key of every clause
        self.prefixes: set[str] = set()  # the prefixes of ``prefix*`` keys in first clauses
        self._views: tuple[frozenset[str], frozenset[str]] | None = None

    def add(self, number: int, clauses: list[Clause] | None) -> None:
        """File rule ``number`` under its clauses (None or empty: always a candidate)."""
        self._views = None
        if not clauses:
            self.always.append(number)
            return
        words = sorted((c for c in clauses if not _prefixed(c)), key=_order)
        ordered = words or [min(clauses, key=_order)]
        later = tuple(c for c in clauses if _prefixed(c) and c is not ordered[0])
        if later:
            self.prefixed[number] = later
            self.known.update(*later)
        for key in ordered[0]:
            self.first.setdefault(key, []).append(number)
            self.known.add(key)
            if key.endswith("*"):
                self.prefixes.add(key[:-1])
        if len(ordered) == 1:
            self.single.add(number)
        for key in ordered[1] if len(ordered) > 1 else ():
            self.second.setdefault(key, []).append(number)
        if len(ordered) > 2:
            self.rest[number] = tuple(ordered[2:])
        self.known.update(*ordered[1:])

    def present(self, doc: Document) -> set[str]:
        """The keys of the index that ``doc`` offers (terms, stems, ``prefix*``)."""
        known, needs = self.known, self.needs
        keys: set[str] = set()
        for name in needs.plain:
            keys |= known & doc.field(name).term_set
        for name in needs.stemmed:
            keys |= known & doc.field(name, stemmed=True).term_set
        for name in needs.prefixed if self.prefixes else ():
            starts = self.prefixes.intersection(map(_PREFIX, doc.field(name).term_set))
            keys.update(p + "*" for p in starts)
        return keys

    def candidates(self, doc: Document) -> list[int]:
        """Numbers of the rules ``doc`` can possibly match, in rule order."""
        if self._views is None:
            self._views = frozenset(self.first), frozenset(self.second)
        first_keys, second_keys = self._views
        keys = self.present(doc)
        hits = set().union(*map(self.first.__getitem__, first_keys & keys))
        seconds = set().union(*map(self.second.__getitem__, second_keys & keys))
        found = (hits & seconds) | (hits & self.single)
        rest, prefixed = self.rest, self.prefixed
        found = [n for n in found if n not in rest or all(not c.isdisjoint(keys) for c in rest[n])]
        if prefixed:
            starts = _Starts(doc, self.needs.prefixed, keys)
            found = [n for n in found if n not in prefixed or all(map(starts, prefixed[n]))]
        return sorted(found + self.always)


class _Starts:
    """Whether an item satisfies a clause with ``prefix*`` keys (prefixes found lazily)."""

    def __init__(self, doc: Document, fields: Iterable[str], keys: set[str]) -> None:
        self.doc, self.fields, self.keys = doc, tuple(fields), keys
        self.known: dict[str, bool] = {}

    def __call__(self, clause: Clause) -> bool:
        """Whether some key of ``clause`` is a term of the item or a prefix of one."""
        return any(self.has(key) for key in clause)

    def has(self, key: str) -> bool:
        """Whether the item offers ``key`` (a term, or ``prefix*``)."""
        if not key.endswith("*"):
            return key in self.keys
        found = self.known.get(key)
        if found is None:
            prefix = key[:-1]
            fields = (self.doc.field(name) for name in self.fields)
            found = self.known[key] = any(f.has_prefix(prefix) for f in fields)
        return found


def _prefixed(clause: Clause) -> bool:
    """Whether ``clause`` has a ``prefix*`` key."""
    return any(key.endswith("*") for key in clause)


def _order(clause: Clause) -> tuple[float, list[str]]:
    """Sort key of clauses: least likely to be satisfied first (see :func:`rarest`)."""
    return sum(_cost(k) for k in clause), sorted(clause)
