"""Many rules over one item: compile every rule once, analyze each item once, and
evaluate only the rules an item can possibly match.

Each rule is indexed by the keys of its two rarest presearch clauses
(:mod:`monitor.rules.presearch`). For an item, the hashes of the words of the fields
the rules read are looked up in that index; the candidate rules' remaining clauses are
checked with set operations; only the survivors are evaluated. Rules that need nothing
indexable (only negations, ``*kim*``) are always evaluated. :meth:`RuleSet.match`
gives exactly what :meth:`RuleSet.match_every` (every rule evaluated) gives.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from monitor.errors import RuleSyntaxError
from monitor.models import Match
from monitor.rules.query import Document, Explanation, Query, compile_query

if TYPE_CHECKING:
    from monitor.rules.presearch import Keys

__all__ = ["RuleSet", "RuleSpec"]

RuleSpec = tuple[str, str] | tuple[str, str, bool]
_DIRECT = 8  # with at most this many rules in ``only``, skip the presearch


class RuleSet:
    """Named rule queries, compiled once, matched against items' fields."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        """Compile each ``(name, query)`` or ``(name, query, stem)``.

        A bad query raises RuleSyntaxError naming the rule. The presearch (numpy) is
        imported here, not with this module: a process that never matches (``run
        --once`` on unchanged feeds) never loads it.
        """
        from monitor.rules.presearch import Keys

        self._rules: list[tuple[str, Query]] = []
        self._keys: Keys = Keys()
        with _no_cyclic_gc():
            self._compile(rules)
        self._numbers: dict[str, list[int]] = {}
        for number, (name, _) in enumerate(self._rules):
            self._numbers.setdefault(name, []).append(number)

    def _compile(self, rules: Sequence[RuleSpec]) -> None:
        """Compile and file every rule, then build the presearch arrays."""
        from monitor.rules.presearch import leaf_terms, requirements

        for spec in rules:
            name, text = spec[0], spec[1]
            stem = bool(spec[2]) if len(spec) > 2 else False
            try:
                query = compile_query(text, stem=stem)
            except RuleSyntaxError as exc:
                raise RuleSyntaxError(f"rule {name!r}: {exc}", exc.column) from exc
            needs = self._keys.needs
            clauses = requirements(query.root, needs)
            self._keys.add(len(self._rules), clauses, leaf_terms(query.root, needs))
            self._rules.append((name, query))
        self._keys.build()

    @property
    def names(self) -> tuple[str, ...]:
        """Rule names in rule order."""
        return tuple(name for name, _ in self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def query(self, name: str) -> Query:
        """The compiled query of rule ``name`` (KeyError if there is none)."""
        return self._rules[self._numbers[name][0]][1]

    def explain(self, name: str, fields: Mapping[str, str]) -> Explanation:
        """Why rule ``name`` matches ``fields`` or not: its tree, branches held or failed."""
        return self.query(name).explain(Document.from_fields(fields))

    def candidates(self, doc: Document) -> list[int]:
        """Numbers of the rules ``doc`` can possibly match, in rule order."""
        return self._keys.candidates(doc)[0]

    def match(self, fields: Mapping[str, str], only: Collection[str] | None = None) -> list[Match]:
        """The rules (all, or those named in ``only``) that match ``fields``, in rule order.

        Only the presearch candidates are evaluated; with a handful of rules in ``only``
        those are evaluated directly (cheaper than the presearch). Either way the result
        is what evaluating every rule gives.
        """
        doc = Document.from_fields(fields)
        if only is not None and len(only) <= _DIRECT:
            numbers = sorted(n for name in set(only) for n in self._numbers.get(name, ()))
            return self._evaluate(doc, numbers, only)
        numbers, keys = self._keys.candidates(doc)
        doc.only_keys(self._keys.ids, keys)  # this Document is ours alone: safe to mark
        return self._evaluate(doc, numbers, only)

    def match_every(
        self, fields: Mapping[str, str], only: Collection[str] | None = None
    ) -> list[Match]:
        """Like :meth:`match`, but evaluating every rule (no presearch): the reference.

        Each field's term set is built first, as a straightforward matcher would.
        """
        doc = Document.from_fields(fields)
        doc.index_terms(self._keys.needs.plain | self._keys.needs.prefixed)
        return self._evaluate(doc, range(len(self._rules)), only)

    def _evaluate(
        self, doc: Document, numbers: Iterable[int], only: Collection[str] | None
    ) -> list[Match]:
        """Evaluate the rules ``numbers`` (those named in ``only``) on ``doc``, in order."""
        matches = []
        for number in numbers:
            name, query = self._rules[number]
            if only is not None and name not in only:
                continue
            result = query.match(doc)
            if result is not None:
                matches.append(Match(name, result[0], result[1]))
        return matches


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a rule set is built.

    Compiling makes hundreds of thousands of long-lived objects; each full collection
    they trigger walks every object alive, which cost more than the compiling itself
    (10,000 rules: 2.1 s with it, 0.8 s without, on the benchmark's heap).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
