"""A table of (text, query, expected) cases: operators, fields, analyzer, CJK, stemming.

The cases live in tests/data/rules_cases.yaml, grouped by document. Each case is
checked three ways: the compiled query alone, a RuleSet with its presearcher, and a
RuleSet evaluating every rule; all three must agree with the table.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.rules import Document, RuleSet, compile_query

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "rules_cases.yaml"
GROUPS = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
CASES = [
    pytest.param(group["fields"], query, expected, group.get("stem", False), id=f"{name}: {query}")
    for group in GROUPS
    for name in [group["name"]]
    for query, expected in group["cases"]
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize(("fields", "query", "expected", "stem"), CASES)
def test_case(fields: dict[str, str], query: str, expected: bool, stem: bool) -> None:
    result = compile_query(query, stem=stem).match(Document.from_fields(fields))
    assert (result is not None) is expected
    rules = RuleSet([("rule", query, stem)])
    assert bool(rules.match(fields)) is expected
    assert rules.match(fields) == rules.match_every(fields)
