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
an item's keys (found by hashing its words, :mod:`monitor.rules.wordhash`) find the
rules both clauses of which it satisfies, whose other clauses are then checked with set
operations before the rule is evaluated. Every clause is a necessary condition, and a
hash collision can only add a candidate, so skipping a rule never changes a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from monitor.rules.compiler import STOP_WORDS
from monitor.rules.document import Document
from monitor.rules.keytable import KeyTable, Postings
from monitor.rules.nodes import (
    AndNode,
    NearNode,
    Node,
    NotNode,
    OrNode,
    Positional,
    TermLeaf,
    WildcardLeaf,
)
from monitor.rules.phrase import PhraseLeaf
from monitor.rules.wordhash import PREFIX_LEN, PREFIX_SALT, hash_strings, hash_words

__all__ = [
    "PREFIX_LEN",
    "Clause",
    "Keys",
    "Needs",
    "leaf_keys",
    "leaf_terms",
    "rarest",
    "requirements",
]

Clause = frozenset[str]


@dataclass
class Needs:
    """Fields each kind of key is read from, gathered over all rules of a set."""

    plain: set[str] = field(default_factory=set)  # fields whose terms are keys
    stemmed: set[str] = field(default_factory=set)  # fields whose stems are keys
    prefixed: set[str] = field(default_factory=set)  # fields whose term prefixes are keys


def requirements(node: Node, needs: Needs) -> list[Clause] | None:
    """The clauses ``node`` needs (None: nothing indexable); records fields in ``needs``."""
    if isinstance(node, Positional):
        return [frozenset({key}) for key in leaf_keys(node, needs)] or None
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


def leaf_keys(leaf: Positional, needs: Needs) -> list[str]:
    """The keys one leaf needs, each required, and the fields it reads into ``needs``.

    A word: its term (its stem in a stemmed rule); a phrase: each of its terms; a
    wildcard: its ``prefix*`` key, or nothing when the prefix is too short.
    """
    if isinstance(leaf, WildcardLeaf):
        if leaf.key is None:
            return []
        needs.prefixed.update(leaf.fields)
        return [leaf.key]
    (needs.stemmed if leaf.stem else needs.plain).update(leaf.fields)
    if isinstance(leaf, TermLeaf):
        return [leaf.key]
    if isinstance(leaf, PhraseLeaf):
        return list(dict.fromkeys(leaf.terms))
    raise TypeError(f"unknown leaf {type(leaf).__name__}")


def leaf_terms(node: Node, needs: Needs) -> set[str]:
    """Every key a word, phrase or wildcard of ``node`` looks up, negated ones included.

    The presearch finds these in items too, so that evaluation can skip looking for a
    term it knows is absent (:meth:`Document.surely_absent`); their fields are
    recorded in ``needs`` so that they are searched.
    """
    if isinstance(node, Positional):
        return set(leaf_keys(node, needs))
    if isinstance(node, NearNode):
        children: tuple[Node, ...] = (node.left, node.right)
    elif isinstance(node, AndNode | OrNode):
        children = node.children
    elif isinstance(node, NotNode):
        children = (node.child,)
    else:
        return set()
    return set().union(*(leaf_terms(c, needs) for c in children))


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

    Keys are numbered, and each key's number is found from a 64-bit hash of its text
    (:mod:`monitor.rules.wordhash`), so an item's keys are found from the hashes of its
    words without making a Python string per word. A rule is a candidate when some key
    of its rarest clause *and* some key of its second rarest clause occur in the item:
    the rules filed under the item's keys are gathered from two compressed arrays and
    combined as boolean arrays. The candidates' other clauses are then checked one by
    one, against the set of the item's key numbers. Rules with one clause need only
    the first; rules with none are always candidates.
    """

    def __init__(self) -> None:
        self.needs = Needs()
        self.ids: dict[str, int] = {}  # key -> number
        self.first: list[list[int]] = []  # rules filed under each key's number
        self.second: list[list[int]] = []
        self.rest: dict[int, tuple[frozenset[int], ...]] = {}  # clauses past the second
        self.single: list[int] = []  # rules with exactly one clause
        self.always: list[int] = []  # rules with no indexable clause
        self.rules = 0
        self._arrays: _Arrays | None = None

    def add(self, number: int, clauses: list[Clause] | None, terms: Iterable[str] = ()) -> None:
        """File rule ``number`` under its clauses (None or empty: always a candidate).

        ``terms`` (see :func:`leaf_terms`) are numbered as keys too, so that each item
        records which of them it holds.
        """
        self._arrays = None
        self.rules = max(self.rules, number + 1)
        self._number(terms)
        if not clauses:
            self.always.append(number)
            return
        ordered = [self._number(c) for c in sorted(clauses, key=_order)]
        for key in ordered[0]:
            self.first[key].append(number)
        if len(ordered) == 1:
            self.single.append(number)
        for key in ordered[1] if len(ordered) > 1 else ():
            self.second[key].append(number)
        if len(ordered) > 2:
            self.rest[number] = tuple(ordered[2:])

    def _number(self, clause: Iterable[str]) -> frozenset[int]:
        """The key numbers of ``clause``, numbering new keys."""
        ids, numbers = self.ids, []
        for key in clause:
            number = ids.get(key)
            if number is None:
                number = ids[key] = len(ids)
                self.first.append([])
                self.second.append([])
            numbers.append(number)
        return frozenset(numbers)

    def present(self, doc: Document) -> np.ndarray:
        """The numbers of the index's keys that ``doc`` offers (terms, stems, ``prefix*``).

        A number may appear more than once.
        """
        needs, spaced, terms, heads = self.needs, [], [], []
        for name in needs.plain | needs.prefixed:
            field = doc.field(name)
            if field.padded is not None:
                spaced.append(field.padded)  # every word, hashed as arrays
            elif field.text:
                terms.append(" ".join(field.term_set))
                if name in needs.prefixed:
                    heads += (t[:PREFIX_LEN] for t in field.term_set if len(t) >= PREFIX_LEN)
        terms += (" ".join(doc.field(name, True).term_set) for name in needs.stemmed)
        hashes = []
        if spaced:
            words, prefixes = hash_words("".join(spaced), bool(needs.prefixed))
            hashes += [words] if prefixes is None else [words, prefixes]
        if terms:
            hashes.append(hash_strings(terms))
        if heads:
            hashes.append(hash_strings(heads) ^ PREFIX_SALT)
        return self._compiled().table.find(hashes)

    def candidates(self, doc: Document) -> tuple[list[int], bytes]:
        """Numbers of the rules ``doc`` can possibly match, in rule order, and which keys
        ``doc`` offers: a byte per key number, 1 if offered (for
        :meth:`Document.only_keys`)."""
        arrays = self._compiled()
        offered = np.zeros(len(self.ids), np.bool_)
        offered[self.present(doc)] = True
        numbers = np.flatnonzero(offered)  # each key once, without sorting
        hits = arrays.first.rules_of(numbers, self.rules)
        hits &= arrays.second.rules_of(numbers, self.rules) | arrays.single
        keys = offered.tobytes()
        rest = self.rest
        found = [
            n
            for n in np.flatnonzero(hits).tolist()
            if n not in rest or all(any(keys[k] for k in c) for c in rest[n])
        ]
        if self.always:
            found = sorted(found + self.always)
        return found, keys

    def build(self) -> None:
        """Build the arrays the lookups use (else done on first use after an :meth:`add`)."""
        self._arrays = _Arrays.build(self)

    def _compiled(self) -> _Arrays:
        """The arrays the lookups use, built after the last :meth:`add`."""
        if self._arrays is None:
            self.build()
        assert self._arrays is not None
        return self._arrays


@dataclass
class _Arrays:
    """A :class:`Keys` index as numpy arrays."""

    table: KeyTable  # hash of a term key, or salted hash of a prefix -> key number
    first: Postings  # key number -> rules filed under it as first clause
    second: Postings
    single: np.ndarray  # bool per rule: has a single clause

    @classmethod
    def build(cls, keys: Keys) -> _Arrays:
        """Arrays for the keys and rules filed in ``keys``."""
        terms = [k for k in keys.ids if not k.endswith("*")]
        heads = [k[:-1] for k in keys.ids if k.endswith("*")]
        hashes = np.concatenate([hash_strings(terms), hash_strings(heads) ^ PREFIX_SALT])
        ids = [keys.ids[k] for k in terms] + [keys.ids[k + "*"] for k in heads]
        numbers = np.array(ids, np.intp)
        single = np.zeros(keys.rules, np.bool_)
        single[keys.single] = True
        return cls(KeyTable(hashes, numbers), Postings(keys.first), Postings(keys.second), single)


def _order(clause: Clause) -> tuple[float, list[str]]:
    """Sort key of clauses: least likely to be satisfied first (see :func:`rarest`)."""
    return sum(_cost(k) for k in clause), sorted(clause)
