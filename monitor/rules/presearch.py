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
candidate. The rule is indexed under the keys of its rarest clause; an item's keys
(:func:`item_keys`) find the candidate rules, whose other clauses are then checked
with set operations before the rule is evaluated. Every clause is a necessary
condition, so skipping a rule never changes a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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

__all__ = ["PREFIX_LEN", "Clause", "Needs", "item_keys", "rarest", "requirements"]

PREFIX_LEN = 3

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
    return min(clauses, key=lambda c: (sum(_cost(k) for k in c), sorted(c)))


def item_keys(doc: Document, needs: Needs) -> set[str]:
    """The keys an item offers: terms, stems and ``prefix*`` of the fields rules read."""
    keys = doc.term_set(needs.plain)
    if needs.stemmed:
        keys |= doc.term_set(needs.stemmed, stemmed=True)
    if needs.prefixed:
        terms = doc.term_set(needs.prefixed)
        keys |= {t[:PREFIX_LEN] + "*" for t in terms if len(t) >= PREFIX_LEN}
    return keys
