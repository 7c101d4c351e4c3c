"""Finding, reading, validating and cross-checking a config file: :func:`load`, :func:`inspect`.

Reading YAML with positions lives in :mod:`monitor.config.source`, the models in
:mod:`monitor.config.models`, checks over the whole config in :mod:`monitor.config.checks`;
this module runs them in order and collects every problem as ``FILE:LINE:COL: message``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from monitor.config.channelchecks import schedule_checks, webhook_url_checks
from monitor.config.channels import check_apprise_channel
from monitor.config.checks import (
    duplicate_rule_names,
    feed_checks,
    known_names,
    templates_dir_problem,
)
from monitor.config.models import MonitorConfig
from monitor.config.partial import Path_, issue_from_pydantic, validate_all
from monitor.config.source import Secrets, Source, read_config
from monitor.config.store import store_checks
from monitor.errors import ConfigError, ConfigIssue, RuleSyntaxError
from monitor.redact import config_secrets, register_secrets

log = logging.getLogger(__name__)


# Where a command looks for its config without --config, in order (README, --help).
CONFIG_ENV = "NEWS_MONITOR_CONFIG"
SYSTEM_CONFIG = "/etc/news-monitor/monitor.yaml"
LOCAL_CONFIG = "./config/monitor.yaml"


def find_config_path(explicit: str | None) -> Path:
    """``--config``, else $NEWS_MONITOR_CONFIG, else /etc/news-monitor, else ./config."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    system = Path(SYSTEM_CONFIG)
    return system if system.exists() else Path(LOCAL_CONFIG)


def load(path: Path, secrets: Secrets = "required") -> MonitorConfig:
    """Read, validate and cross-check a config file; raise ConfigError listing every issue.

    ``secrets="optional"`` is for commands that send nothing (``status``, ``preview``,
    ``retry``, ``history``): a secret this process cannot read (a systemd credential
    seen from an admin shell) is logged as a warning instead of failing the command.
    """
    return load_with_source(path, secrets)[0]


def load_with_source(path: Path, secrets: Secrets = "required") -> tuple[MonitorConfig, Source]:
    """Like :func:`load`, also returning where each value was written."""
    found = inspect(path, secrets)
    if found.errors or found.config is None:
        raise ConfigError(found.errors)
    for warning in found.source.warnings:  # not check's own (no feeds): every command loads
        log.warning("config: %s", warning)
    return found.config, found.source


@dataclass
class Inspection:
    """Everything :func:`inspect` found in one pass (``check`` prints all of it)."""

    config: MonitorConfig | None  # with stand-ins for invalid parts; None if unusable
    source: Source
    errors: list[ConfigIssue]  # sorted by file (the main one first), line, column
    warnings: list[ConfigIssue]  # source.warnings, and check's own: "no feeds configured"
    aside: set[Path_]  # parts replaced by stand-ins (partial.py)


def inspect(path: Path, secrets: Secrets = "required") -> Inspection:
    """Read, validate and cross-check ``path``, collecting every error of every stage
    that can run: YAML problems stop here (ConfigError), but validation errors, unset
    variables, unreadable secrets and the whole-config checks are reported together.
    """
    if not path.exists():
        raise ConfigError([ConfigIssue(str(path), 1, 1, "config file not found")])
    data, source = read_config(path, secrets)
    config, errors, aside = validate_all(MonitorConfig, data)
    issues = source.problems + [issue_from_pydantic(err, source) for err in errors]
    warnings = list(source.warnings)
    if config is not None:
        register_secrets(config_secrets(config))  # masked in every log line and error from now on
        issues += cross_check(config, source, aside, _written_urls(data, aside))
        templates = templates_dir_problem(config, source)
        if templates is not None:  # set aside: the template check would say it again at 1:1
            issues.append(templates)
            config = config.model_copy(update={"templates_dir": None})
            aside.add(("templates_dir",))
        if not config.feeds:
            warnings.append(_no_feeds(path, source))
    main = str(path)
    issues.sort(key=lambda i: (i.file != main, i.file, i.line, i.col))
    return Inspection(config, source, issues, warnings, aside)


def _no_feeds(path: Path, source: Source) -> ConfigIssue:
    """The warning for a config without feeds: it is valid (rules and channels can be
    tried with ``test-rule`` and ``send-test``) but ``run`` would poll nothing and exit
    0, so a forgotten or emptied ``feeds:`` shows in ``check``. Not logged by
    :func:`load`: every command loads the config, and ``test-rule`` or ``store copy``
    need no feeds."""
    message = "no feeds configured: run would poll nothing"
    if ("feeds",) in source.marks:
        return source.issue(("feeds",), message, key=True)
    return ConfigIssue(str(path), 1, 1, message)


def cross_check(
    config: MonitorConfig,
    source: Source,
    aside: set[Path_] | None = None,
    written_urls: frozenset[str] = frozenset(),
) -> list[ConfigIssue]:
    """Checks that need the whole config: rule channels, rule feeds, query syntax,
    duplicate names, the store's driver, and :mod:`monitor.config.checks` (``aside``:
    stand-ins to skip; ``written_urls``: the URLs as written of unnamed feeds whose
    URL was set aside, names a rule may still watch: :func:`_written_urls`)."""
    from monitor.rules.query import compile_query

    aside = aside or set()
    issues = feed_checks(config, source, aside) + webhook_url_checks(config, source)
    issues += schedule_checks(config, source)
    issues += duplicate_rule_names(config, source) + store_checks(config.store, source)
    health = config.health.channel
    if health is not None and health not in config.channels:
        issues.append(source.issue(("health", "channel"), f"unknown channel {health!r}"))
    feed_names = {
        f.display_name
        for i, f in enumerate(config.feeds)
        if f.name or not {("feeds", i), ("feeds", i, "url")} & aside
    }
    tags = {t for f in config.feeds for t in f.tags}
    for i, rule in enumerate(config.rules):
        for j, channel in enumerate(config.rule_channels(rule) if rule.notify else []):
            if channel not in config.channels:
                known = ", ".join(config.channels) or "none defined"
                msg = f"rule {rule.name!r} notifies unknown channel {channel!r} (channels: {known})"
                issues.append(source.issue(("rules", i, "notify", j, "channel"), msg))
        for j, selector in enumerate(rule.feeds):
            tag = selector.removeprefix("tag:")
            if (selector.startswith("tag:") and tag not in tags) or (
                not selector.startswith("tag:") and selector not in feed_names | written_urls
            ):
                known = known_names(sorted(tags if selector.startswith("tag:") else feed_names))
                kind = "tags" if selector.startswith("tag:") else "feeds"
                msg = f"rule {rule.name!r} watches unknown feed {selector!r} ({kind}: {known})"
                issues.append(source.issue(("rules", i, "feeds", j), msg))
        try:
            compile_query(rule.query)
        except RuleSyntaxError as exc:
            msg = f"rule {rule.name!r}: {exc} (query column {exc.column})"
            where = ("rules", i, "query")
            issues.append(source.issue_inside(where, rule.query, exc.column - 1, msg))
    for name, channel in config.channels.items():
        unread = any(p[:2] == ("channels", name) for p in source.unread)
        if channel.type == "apprise" and not unread:
            for key, message in check_apprise_channel(channel):
                issues.append(source.issue(("channels", name, *key), message))
    return issues


def _written_urls(data: dict, aside: set[Path_]) -> frozenset[str]:
    """The URLs as written of the unnamed feeds whose URL was set aside (their stand-in
    shows a URL no rule names): a rule watching one is not told the feed is unknown,
    the URL's own error is enough. ``data``: the config as read, before validation."""
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        return frozenset()
    return frozenset(
        feed["url"]
        for i, feed in enumerate(feeds)
        if isinstance(feed, dict)
        and isinstance(feed.get("url"), str)
        and not feed.get("name")
        and {("feeds", i), ("feeds", i, "url")} & aside
    )
