"""Positions inside string values (Source.issue_inside): a character of a value written
over several lines maps back to its own line and column in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.source import read_config

CASES = [
    # (the query as written after "query: ", the character looked for, expected LINE:COL)
    ("'Kim AND foo:bar'", "f", "1:17"),  # one line, quoted: column + offset + quote
    ("Kim AND foo:bar", "f", "1:16"),
    (">-\n  Kim AND\n  foo:bar", "f", "3:3"),
    ("|\n  Kim AND\n  foo:bar\n", "f", "3:3"),
    ("|\n  Kim AND\n    (foo:bar\n", "(", "3:5"),  # a more-indented line keeps its spaces
    (">\n  Kim\n\n  AND foo:bar\n", "f", "4:7"),  # an empty line became a line break
    ("Kim AND\n  moon foo:bar", "f", "2:8"),  # a plain scalar folded
    ('"Kim AND\n  \\"x\\" foo:bar"', "f", "2:9"),  # escapes written wider than their value
    ("'Kim AND\n  it''s foo:bar'", "f", "2:9"),
    ("|\r\n  Kim AND\r\n  foo:bar\r\n", "f", "3:3"),  # CRLF line breaks
]


def located(tmp_path: Path, written: str, char: str) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(f"query: {written}\n", newline="")
    data, source = read_config(path)
    value = data["query"]
    issue = source.issue_inside(("query",), value, value.index(char), "here")
    assert issue.file == str(path)
    return f"{issue.line}:{issue.col}"


@pytest.mark.parametrize(("written", "char", "where"), CASES)
def test_a_character_maps_to_where_it_was_written(tmp_path, written, char, where):
    assert located(tmp_path, written, char) == where


def test_an_offset_past_the_end_is_just_after_the_last_character(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text("query: >-\n  Kim AND\n  (Moon\n")
    data, source = read_config(path)
    issue = source.issue_inside(("query",), data["query"], len(data["query"]), "here")
    assert (issue.line, issue.col) == (3, 8)
