"""Many rules over one item: compile every rule once, analyze each item once, and
evaluate only the rules an item can possibly match.

Each rule is indexed by the keys of its rarest presearch clause
(:mod:`monitor.rules.presearch`). For an item, the distinct terms of the fields the
rules read are looked up in that index; the candidate rules' remaining clauses are
checked with set operations; only the survivors are evaluated. Rules that need nothing
indexable (only negations, ``*kim*``) are always evaluated. :meth:`RuleSet.match`
gives exactly what :meth:`RuleSet.match_every` (every rule evaluated) gives.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from monitor.errors import RuleSyntaxError
from monitor.models import Match
from monitor.rules.presearch import Clause, Needs, item_keys, rarest, requirements
from monitor.rules.query import Document, Explanation, Query, compile_query

__all__ = ["RuleSet", "RuleSpec"]

RuleSpec = tuple[str, str] | tuple[str, str, bool]


class RuleSet:
    """Named rule queries, compiled once, matched against items' fields."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        """Compile each ``(name, query)`` or ``(name, query, stem)``.

        A bad query raises RuleSyntaxError naming the rule.
        """
        self._rules: list[tuple[str, Query]] = []
        self._clauses: list[tuple[Clause, ...]] = []
        self._index: dict[str, list[int]] = {}
        self._always: list[int] = []
        self._needs = Needs()
        for spec in rules:
            name, text = spec[0], spec[1]
            stem = bool(spec[2]) if len(spec) > 2 else False
            try:
                query = compile_query(text, stem=stem)
            except RuleSyntaxError as exc:
                raise RuleSyntaxError(f"rule {name!r}: {exc}", exc.column) from exc
            self._add(name, query)
        self._keys = frozenset(self._index)

    def _add(self, name: str, query: Query) -> None:
        """Register one compiled rule in the presearch index."""
        number = len(self._rules)
        self._rules.append((name, query))
        clauses = requirements(query.root, self._needs)
        if not clauses:
            self._clauses.append(())
            self._always.append(number)
            return
        best = rarest(clauses)
        self._clauses.append(tuple(c for c in clauses if c != best))
        for key in best:
            self._index.setdefault(key, []).append(number)

    @property
    def names(self) -> tuple[str, ...]:
        """Rule names in rule order."""
        return tuple(name for name, _ in self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def query(self, name: str) -> Query:
        """The compiled query of rule ``name`` (KeyError if there is none)."""
        for rule, query in self._rules:
            if rule == name:
                return query
        raise KeyError(name)

    def explain(self, name: str, fields: Mapping[str, str]) -> Explanation:
        """Why rule ``name`` matches ``fields`` or not: its tree, branches held or failed."""
        return self.query(name).explain(Document.from_fields(fields))

    def candidates(self, doc: Document) -> list[int]:
        """Numbers of the rules ``doc`` can possibly match, in rule order."""
        keys = item_keys(doc, self._needs)
        found: set[int] = set(self._always)
        index = self._index
        for key in keys & self._keys:
            found.update(index[key])
        clauses = self._clauses
        return sorted(n for n in found if all(not c.isdisjoint(keys) for c in clauses[n]))

    def match(self, fields: Mapping[str, str], only: Collection[str] | None = None) -> list[Match]:
        """The rules (all, or those named in ``only``) that match ``fields``, in rule order.

        With ``only`` the named rules are evaluated directly (cheaper than presearch for
        a few rules); otherwise only the presearch candidates are.
        """
        doc = Document.from_fields(fields)
        if only is not None:
            numbers = [n for n, (name, _) in enumerate(self._rules) if name in only]
            return self._evaluate(doc, numbers, None)
        return self._evaluate(doc, self.candidates(doc), None)

    def match_every(
        self, fields: Mapping[str, str], only: Collection[str] | None = None
    ) -> list[Match]:
        """Like :meth:`match`, but evaluating every rule (no presearch): the reference."""
        return self._evaluate(Document.from_fields(fields), range(len(self._rules)), only)

    def _evaluate(
        self, doc: Document, numbers: Sequence[int], only: Collection[str] | None
    ) -> list[Match]:
        """Evaluate the rules ``numbers`` on ``doc``, in that order."""
        matches = []
        for number in numbers:
            name, query = self._rules[number]
            if only is not None and name not in only:
                continue
            result = query.match(doc)
            if result is not None:
                matches.append(Match(name, result[0], result[1]))
        return matches
