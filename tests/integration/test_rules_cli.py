"""``test-rule --explain`` in a subprocess: the tree per item, in text and JSON."""

from __future__ import annotations

import json

from tests.conftest import SEED, run_cli

SEED_GUID = "jad-3052260"


def test_explain_prints_a_tree_for_every_item(tmp_path):
    feed = str(SEED / "feed-full.xml")
    result = run_cli(
        "test-rule", "Pompeo AND (Tokyo OR Pyongyang)", feed, "--explain", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "MATCH Pompeo may be returning to Pyongyang soon" in out
    assert out.count("  why:") == 5  # matched and unmatched items alike
    assert "✓ AND" in out and "✗ AND" in out
    assert "✓ pompeo  at title 0-6 'Pompeo'" in out and "✗ tokyo" in out
    assert "2 of 5 items match" in out  # the seed story and its Tokyo neighbour


def test_explain_json_has_an_explain_key(tmp_path):
    feed = str(SEED / "feed-full.xml")
    result = run_cli(
        "test-rule", "Pompeo ONEAR/3 Pyongyang", feed, "--explain", "--json", cwd=tmp_path
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5 and all("explain" in line for line in lines)
    seed = next(line for line in lines if line["id"] == SEED_GUID)
    tree = seed["explain"]
    assert tree["node"] == "ONEAR/3" and tree["held"] is seed["matched"]
    assert [c["node"] for c in tree["children"]] == ["pompeo", "pyongyang"]
