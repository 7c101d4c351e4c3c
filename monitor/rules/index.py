"""Many rules over one item: compile every rule once, analyze each item once.

This first version evaluates every rule against a shared :class:`Document`. A
presearcher (skip rules none of whose required terms occur in the item) can be added
behind the same interface.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from monitor.errors import RuleSyntaxError
from monitor.models import Match
from monitor.rules.query import Document, Query, compile_query

__all__ = ["RuleSet"]


class RuleSet:
    """Named rule queries, compiled once, matched against items' fields."""

    def __init__(self, rules: Sequence[tuple[str, str]]) -> None:
        """Compile each ``(name, query)``; a bad query raises RuleSyntaxError naming it."""
        self._rules: list[tuple[str, Query]] = []
        for name, text in rules:
            try:
                query = compile_query(text)
            except RuleSyntaxError as exc:
                raise RuleSyntaxError(f"rule {name!r}: {exc}", exc.column) from exc
            self._rules.append((name, query))

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

    def match(self, fields: Mapping[str, str], only: Collection[str] | None = None) -> list[Match]:
        """The rules (all, or those named in ``only``) that match ``fields``, in rule order."""
        doc = Document.from_fields(fields)
        matches = []
        for name, query in self._rules:
            if only is not None and name not in only:
                continue
            result = query.match(doc)
            if result is not None:
                matches.append(Match(name, result[0], result[1]))
        return matches
