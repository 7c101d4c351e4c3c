"""Bounds on loading a config (issue #14 point 9): aliases, nodes, depth, files, templates.

Every hostile case runs ``news-monitor check`` (or ``preview``) in a subprocess with a
timeout, so a regression that hangs or expands without end fails here instead of
hanging the suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from monitor.config.source import Source
from tests.conftest import SEED, run_cli

LIMIT_SECONDS = 60  # far above a bounded failure (about 1 s), far below a hang

GOOD = """\
state_dir: ./state
feeds:
  - {name: sample, url: "file:feed.xml"}
rules:
  - {name: pompeo, query: 'Pompeo AND Pyongyang'}
channels:
  console: {type: console}
"""

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def cli(tmp_path: Path, *args: str, timeout: float = LIMIT_SECONDS) -> subprocess.CompletedProcess:
    """``news-monitor ARGS`` that must end (a hang is a test failure, not a stuck suite)."""
    try:
        return run_cli(*args, cwd=tmp_path, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"news-monitor {' '.join(args)} did not finish within {timeout}s")


def check(tmp_path: Path, text: str, timeout: float = LIMIT_SECONDS) -> subprocess.CompletedProcess:
    config = tmp_path / "monitor.yaml"
    config.write_text(text)
    return cli(tmp_path, "check", "--config", str(config), timeout=timeout)


def failed_with(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert re.search(pattern, result.stderr), result.stderr


def test_billion_laughs_fails_at_the_alias_that_crosses_the_node_limit(tmp_path):
    result = check(tmp_path, GOOD + BILLION_LAUGHS)
    failed_with(result, r"monitor\.yaml:14:8: too many nodes: the config expands past 1000000")


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    result = check(tmp_path, GOOD + "loop: &loop [1, *loop]\n")
    failed_with(result, r"monitor\.yaml:8:17: alias \*loop is inside its own anchor")


def test_too_many_aliases_are_refused(tmp_path):
    aliases = ", ".join(["*n"] * 10_001)
    result = check(tmp_path, GOOD + f"x: [&n 1, {aliases}]\n")
    failed_with(result, r"monitor\.yaml:8:\d+: too many aliases \(more than 10000\)")


def test_nesting_deeper_than_100_levels_is_refused(tmp_path):
    nested = "".join("  " * level + "k:\n" for level in range(150))
    result = check(tmp_path, GOOD + "x:\n" + textwrap.indent(nested, "  "))
    failed_with(result, r"monitor\.yaml:\d+:\d+: too deep: nesting past 100 levels")


def test_ordinary_anchors_and_aliases_still_work(tmp_path):
    text = GOOD.replace(
        "  - {name: pompeo, query: 'Pompeo AND Pyongyang'}",
        "  - {name: pompeo, query: &q 'Pompeo AND Pyongyang', notify: &team [console]}\n"
        "  - {name: again, query: *q, notify: *team}",
    )
    result = check(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert "2 rules" in result.stdout


def test_fifty_thousand_rules_in_two_includes_load(tmp_path):
    for part in range(2):
        rules = [
            {"name": f"r{part}-{i}", "query": f"word{i} AND other{part}"} for i in range(25_000)
        ]
        (tmp_path / f"rules{part}.yaml").write_text(yaml.safe_dump({"rules": rules}))
    text = GOOD + "include: ['rules*.yaml']\n"
    result = check(tmp_path, text, timeout=240)  # 16 s measured on a busy 2-core machine
    assert result.returncode == 0, result.stderr
    assert "50001 rules" in result.stdout


def test_include_marks_land_on_the_right_entry(tmp_path):
    """The linear graft keeps FILE:LINE:COL right for the second and later includes."""
    (tmp_path / "a.yaml").write_text("rules:\n  - {name: a1, query: x}\n  - {name: a2, query: y}\n")
    (tmp_path / "b.yaml").write_text(
        "rules:\n  - {name: b1, query: x}\n  - {name: b2, query: 'x AND ('}\n"
    )
    result = check(tmp_path, GOOD + "include: ['a.yaml', 'b.yaml']\n")
    failed_with(result, r"b\.yaml:3:\d+: rule 'b2'")


def test_graft_moves_entries_by_the_offset():
    theirs, mine = Source(), Source()
    theirs.marks[("rules", 0, "name")] = "first"  # type: ignore[assignment]
    theirs.marks[("rules", 1)] = "second"  # type: ignore[assignment]
    theirs.marks[("rules",)] = "section"  # type: ignore[assignment]
    mine.graft(theirs, "rules", 5)
    assert mine.marks == {("rules", 5, "name"): "first", ("rules", 6): "second"}


def test_dev_zero_as_an_include_fails_fast(tmp_path):
    result = check(tmp_path, GOOD + "include: ['/dev/zero']\n")
    failed_with(result, r"/dev/zero:1:1: not a regular file \(a character device\)")


def test_fifo_as_the_config_fails_fast(tmp_path):
    fifo = tmp_path / "monitor.yaml"
    os.mkfifo(fifo)
    result = cli(tmp_path, "check", "--config", str(fifo))
    failed_with(result, re.escape(str(fifo)) + r":1:1: not a regular file \(a FIFO\)")


def test_fifo_as_a_secret_file_fails_fast(tmp_path):
    os.mkfifo(tmp_path / "hook.secret")
    text = GOOD + "  team: {type: slack, webhook_url_file: hook.secret}\n"
    result = check(tmp_path, text)
    failed_with(
        result, r"monitor\.yaml:8:\d+: secret file hook\.secret: not a regular file \(a FIFO\)"
    )


def test_secret_file_over_64_kib_is_refused(tmp_path):
    (tmp_path / "hook.secret").write_text("https://hooks.slack.com/" + "x" * 65536)
    text = GOOD + "  team: {type: slack, webhook_url_file: hook.secret}\n"
    result = check(tmp_path, text)
    failed_with(result, r"secret file hook\.secret: larger than 65536 bytes")


ENDLESS = {
    "nested ranges": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    ),
    "recursive macro": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    ),
    "loop over a string": (
        "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    ),
}


@pytest.mark.parametrize("body", ENDLESS.values(), ids=ENDLESS.keys())
def test_check_reports_a_template_that_does_not_finish(tmp_path, body):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "digest.txt.j2").write_text(body)
    result = check(tmp_path, GOOD + f"templates_dir: {templates}\n")
    failed_with(result, r"digest\.txt\.j2:1:1: did not finish within 2s")


WIDE = {
    "repeat": ("{{ 'x' * 10**12 }}", "'\\*' would make 1000000000000 items"),
    "center": ("{{ 'x'|center(10**9) }}", "center: argument 1000000000 is too large"),
    "percent": ("{{ '%0999999999d' % 1 }}", "'%' width too large"),
    "str.format": ("{{ '{:>999999999}'.format(1) }}", "'format' width too large"),
}


@pytest.mark.parametrize(("body", "message"), WIDE.values(), ids=WIDE.keys())
def test_check_refuses_a_template_result_past_the_output_cap_before_making_it(
    tmp_path, body, message
):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "subject.txt.j2").write_text(body)
    result = check(tmp_path, GOOD + f"templates_dir: {templates}\n")
    failed_with(result, r"subject\.txt\.j2:1:1: " + message)


def test_check_reports_a_fifo_template(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    os.mkfifo(templates / "digest.txt.j2")
    result = check(tmp_path, GOOD + f"templates_dir: {templates}\n")
    failed_with(result, r"digest\.txt\.j2:1:1: not a regular file \(a FIFO\)")


def test_preview_falls_back_to_the_built_in_template_after_the_deadline(tmp_path):
    (tmp_path / "feed.xml").write_bytes((SEED / "feed-full.xml").read_bytes())
    # a webhook nobody answers (port 9, refused): the alert stays pending for preview
    hook = "hook: {type: webhook, url: 'http://127.0.0.1:9/hook'}"
    config = GOOD.replace("console: {type: console}", hook)
    config = config.replace('url: "file:feed.xml"}', 'url: "file:feed.xml", backfill: all}')
    templates = tmp_path / "templates"
    templates.mkdir()
    (tmp_path / "monitor.yaml").write_text(config + f"templates_dir: {templates}\n")
    once = cli(tmp_path, "run", "--once", "--config", "monitor.yaml")
    assert once.returncode == 3, once.stderr  # 3: a channel could not deliver
    (templates / "digest.txt.j2").write_text(ENDLESS["nested ranges"])
    result = cli(tmp_path, "preview", "--config", "monitor.yaml")
    assert result.returncode == 0, result.stderr
    assert "=== channel hook: 1 story pending ===" in result.stdout
    assert "did not finish within 2s); using the built-in one" in result.stderr
    assert "== pompeo (1) ==" in result.stdout  # the built-in digest


def test_a_template_range_still_has_length_indexing_and_reverse():
    from monitor.notify.sandbox import BoundedEnvironment, render_bounded

    source = (
        "{{ range(5)|length }} {{ range(5)|reverse|list }} {{ 3 in range(5) }} "
        "{{ range(10)[2] }} {% for i in range(2) %}{{ loop.length }}{% endfor %}"
    )
    rendered = render_bounded(BoundedEnvironment().from_string(source), {})
    assert rendered == "5 [4, 3, 2, 1, 0] True 2 22"
