"""``news-monitor check``: every mistake of a config in one run (issue #15).

Re-exported by :mod:`monitor.cli.commands`, as the CLI finds every subcommand there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli.messages import config_error_text, count
from monitor.config import MonitorConfig, inspect, statedir
from monitor.config.channelchecks import clear_login_warnings
from monitor.config.checks import file_feed_warnings, state_dir_problem
from monitor.config.source import Path_, Source
from monitor.errors import ConfigError, ConfigIssue, RuleSyntaxError
from monitor.notify.render import Renderer
from monitor.rules.query import Document, Query, compile_query


def cmd_check(args: argparse.Namespace, path: Path) -> int:
    """``check``: every mistake of the config in one run; exit 1 on any error.

    YAML and includes first (nothing else can run when they are broken); then, all
    together: validation, unset variables, whole-config checks (config/checks.py),
    rule syntax, templates, rule examples and whether ``state_dir`` can be created;
    ``file:`` feeds that cannot be read from here are warnings.
    Printed as ``FILE:LINE:COL: message``, sorted by position. Secrets this shell
    cannot read (systemd credentials) are warnings: the service reads them at start.
    """
    try:
        found = inspect(path, secrets="optional")
    except ConfigError as exc:
        print(config_error_text(exc, path, args.config), file=sys.stderr)
        return 1
    config, source = found.config, found.source
    issues = list(found.errors)
    examples = 0
    if config is not None:
        issues += [_template_issue(config, source, path, t) for t in _template_problems(config)]
        example_issues, examples = _example_problems(config, source, found.aside)
        issues += example_issues
        forced = statedir.override()  # --state-dir, $NEWS_MONITOR_STATE_DIR
        state = state_dir_problem(forced or config.state_dir)
        if state:
            where = source.issue(("state_dir",), state[0])
            if forced:
                given = f"{state[0]} (given by --state-dir or ${statedir.STATE_DIR_ENV})"
                where = ConfigIssue(str(path), 1, 1, given)
            (issues if state[1] else found.warnings).append(where)
        found.warnings += file_feed_warnings(config, source, found.aside)
        found.warnings += clear_login_warnings(config, source)
    issues.sort(key=lambda i: (i.file != str(path), i.file, i.line, i.col))
    found.warnings.sort(key=lambda i: (i.file != str(path), i.file, i.line, i.col))
    for warning in found.warnings:
        print(
            f"{warning.file}:{warning.line}:{warning.col}: warning: {warning.message}",
            file=sys.stderr,
        )
    if issues or config is None:
        print("\n".join(str(i) for i in issues), file=sys.stderr)
        return 1
    print(
        f"{path}: ok: {count(len(config.feeds), 'feed')}, {count(len(config.rules), 'rule')}, "
        f"{count(len(config.channels), 'channel')}, {count(examples, 'example')} passed"
        + _store_summary(config)
        + (f", {len(found.warnings)} warning(s)" if found.warnings else "")
    )
    return 0


def _store_summary(config: MonitorConfig) -> str:
    """``, store URL (pool N, lease Ns)`` for a PostgreSQL store (the URL holds no
    password: config/store.py refuses one), else nothing: SQLite needs no mention."""
    store = config.store
    if store is None:
        return ""
    lease = f"{store.lease.total_seconds():g}s"
    return f", store {store.shown_url} (pool {store.pool_size}, lease {lease})"


def _example_problems(
    config: MonitorConfig, source: Source, aside: set[Path_]
) -> tuple[list[ConfigIssue], int]:
    """Rule examples that do not behave as written, and how many were run.

    Only rules with examples are compiled again, each matched alone (as
    :meth:`RuleSet.match` evaluates a rule named in ``only``), so a config of 50,000
    rules does not pay for a second rule set, nor any config for the presearch
    (numpy); rules set aside, or whose query or ``stem`` was (partial.py: a stand-in
    or the default is not what the examples were written for), or whose query does
    not compile (reported by cross_check) are skipped.
    """
    queries: dict[int, Query] = {}
    for i, rule in enumerate(config.rules):
        replaced = {("rules", i), ("rules", i, "query"), ("rules", i, "stem")} & aside
        if replaced or not (rule.examples.match or rule.examples.no_match):
            continue
        try:
            queries[i] = compile_query(rule.query, stem=rule.stem)
        except RuleSyntaxError:
            continue
    issues: list[ConfigIssue] = []
    examples = 0
    for i, query in queries.items():
        rule = config.rules[i]
        for kind, texts in (("match", rule.examples.match), ("no_match", rule.examples.no_match)):
            for j, text in enumerate(texts):
                examples += 1
                fields = {"title": "", "summary": "", "content": text}
                matched = query.match(Document.from_fields(fields)) is not None
                if matched != (kind == "match"):
                    verb = (
                        "should match but does not" if kind == "match" else "matches but should not"
                    )
                    issues.append(
                        source.issue(
                            ("rules", i, "examples", kind, j),
                            f"rule {rule.name!r}: example {verb}: {text!r}",
                        )
                    )
    return issues, examples


def _template_issue(config: MonitorConfig, source: Source, path: Path, problem: str) -> ConfigIssue:
    """A template's problem (``FILE:LINE:COL: error`` of the template) located at the
    config's ``templates_dir`` line for a user template, else at the file's top."""
    user = config.templates_dir is not None and problem.startswith(str(config.templates_dir))
    if user and ("templates_dir",) in source.marks:
        return source.issue(("templates_dir",), f"template {problem}")
    return ConfigIssue(str(path), 1, 1, f"template {problem}")


def _template_problems(config: MonitorConfig) -> list[str]:
    return Renderer(config.templates_dir).check()
