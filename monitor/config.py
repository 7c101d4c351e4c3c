"""The configuration: pydantic models (``extra="forbid"``) and :func:`load`.

Models only validate shape and values. Reading YAML with line numbers, ``${ENV}``,
``*_file`` secrets and ``include:`` live in :mod:`monitor.configsource`; checks that
need the whole config (a rule naming an unknown channel, a query that does not parse)
are in :func:`cross_check`. Every problem comes back as ``FILE:LINE:COL: message``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    field_validator,
    model_validator,
)

from monitor.configchannels import (  # noqa: F401  (re-exported: the config's models)
    AppriseChannel,
    Channel,
    ChannelBase,
    ConsoleChannel,
    EmailChannel,
    QuietHours,
    Schedule,
    SlackChannel,
    SmtpSettings,
    WebhookChannel,
)
from monitor.configchecks import (
    duplicate_rule_names,
    feed_checks,
    known_names,
    webhook_url_checks,
)
from monitor.configpartial import Path_, issue_from_pydantic, validate_all
from monitor.configsource import Secrets, Source, read_config
from monitor.configvalues import Backfill, Duration, Strict, parse_duration  # noqa: F401
from monitor.errors import ConfigError, ConfigIssue, RuleSyntaxError
from monitor.redact import (
    config_secrets,
    redact_url,
    register_secrets,
    state_key,
    strip_userinfo,
)

log = logging.getLogger(__name__)


class FeedConfig(Strict):
    """One feed to poll. Unset values come from ``defaults``."""

    url: str
    name: str | None = None
    interval: Duration | None = None
    adaptive: bool | None = None
    timeout: Duration | None = None
    backfill: Backfill | None = None
    tags: list[str] = []
    fulltext: bool = False
    allow_private_networks: bool | None = None

    @field_validator("url")
    @classmethod
    def _supported_scheme(cls, value: str) -> str:
        if not re.match(r"(?i)(https?://|file:)", value):
            shown = redact_url(value)  # the error is printed: no userinfo or token in it
            raise ValueError(f"unsupported feed URL {shown!r}: use http://, https:// or file:")
        return value

    @property
    def key(self) -> str:
        """The feed's key in the state database: its URL without secrets (state_key)."""
        return state_key(self.url)

    @property
    def legacy_key(self) -> str:
        """The key earlier versions used (the URL minus ``user:password@`` only); state found
        under it is moved to :attr:`key` when the runtime starts."""
        return strip_userinfo(self.url)

    @property
    def display_name(self) -> str:
        """The name, or the (redacted) URL when the feed has none."""
        return self.name or redact_url(self.url)


class RuleExamples(Strict):
    """Texts a rule must / must not match; run by ``news-monitor check``."""

    match: list[str] = []
    no_match: list[str] = []


class NotifyRoute(Strict):
    """One entry of a rule's ``notify``: a channel, and whether the rule is urgent there.

    Written as a channel name (``analyst-email``) or a mapping
    (``{channel: team-slack, urgent: true}``); ``urgent`` unset means the rule's own.
    """

    channel: str = Field(min_length=1)
    urgent: bool | None = None


def _route(value: Any) -> Any:
    return {"channel": value} if isinstance(value, str) else value


class RuleConfig(Strict):
    """A watch rule: a Lucene-style query, the feeds it watches, where it notifies."""

    name: str = Field(min_length=1)
    query: str = Field(min_length=1)
    notify: list[Annotated[NotifyRoute, BeforeValidator(_route)]] | None = None
    feeds: list[str] = []
    # a factory: pydantic deep-copies a model default for every rule (3 s for 50,000 rules)
    examples: RuleExamples = Field(default_factory=RuleExamples)
    stem: bool = False
    urgent: bool = False


class Defaults(Strict):
    """Values for feeds that do not set their own."""

    interval: Duration = timedelta(minutes=10)
    adaptive: bool = False
    adaptive_min: Duration = timedelta(minutes=1)
    adaptive_max: Duration = timedelta(hours=24)
    timeout: Duration = timedelta(seconds=30)
    backfill: Backfill = timedelta(0)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)


class IngestSettings(Strict):
    """Bounds on fetching and parsing (docs/feeds.md)."""

    parse_timeout: Duration = timedelta(seconds=10)
    parse_memory_mb: int = Field(default=512, ge=64, le=65536)
    parse_workers: int = Field(default=2, ge=1, le=64)
    max_parallel_fetches: int = Field(default=16, ge=1, le=1000)
    max_per_host: int = Field(default=4, ge=1, le=100)
    fulltext_concurrency: int = Field(default=4, ge=1, le=100)
    fulltext_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    fulltext_max_per_poll: int = Field(default=20, ge=0, le=1000)  # articles per feed poll


class HealthSettings(Strict):
    """One operator alert when a feed keeps failing (docs/feeds.md)."""

    alert_after: Duration = timedelta(hours=6)
    channel: str | None = None


class DedupSettings(Strict):
    """How duplicates fold into stories (docs/dedup.md)."""

    window: Duration = timedelta(days=3)
    max_distance: int = Field(default=3, ge=0, le=15)
    retention: Duration = timedelta(days=30)


def _metrics_address(value: str) -> str:
    from monitor.metrics import parse_address

    parse_address(value)
    return value


class MonitorConfig(Strict):
    """The whole configuration file."""

    state_dir: Path = Field(default_factory=lambda: Path(os.environ.get("STATE_DIRECTORY", "var")))
    defaults: Defaults = Defaults()
    include: list[str] = []
    templates_dir: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    allow_private_networks: bool = False
    metrics: Annotated[str, AfterValidator(_metrics_address)] | None = None
    watch_config: bool = False
    dedup: DedupSettings = DedupSettings()
    ingest: IngestSettings = IngestSettings()
    health: HealthSettings = HealthSettings()
    feeds: list[FeedConfig] = []
    rules: list[RuleConfig] = []
    channels: dict[str, Channel] = {}
    timezone: str = "UTC"  # the time zone of channels that set none (times shown, cron)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return ChannelBase._known_timezone(value)

    @model_validator(mode="after")
    def _channel_timezones(self) -> MonitorConfig:
        for name, channel in self.channels.items():
            if "timezone" not in channel.model_fields_set:
                self.channels[name] = channel.model_copy(update={"timezone": self.timezone})
        return self

    def feed_interval(self, feed: FeedConfig) -> timedelta:
        """The poll interval of ``feed``."""
        return feed.interval or self.defaults.interval

    def feed_adaptive(self, feed: FeedConfig) -> bool:
        """Whether ``feed``'s interval follows how often it publishes (docs/feeds.md)."""
        return self.defaults.adaptive if feed.adaptive is None else feed.adaptive

    def feed_timeout(self, feed: FeedConfig) -> timedelta:
        """The total fetch deadline of ``feed``."""
        return feed.timeout or self.defaults.timeout

    def feed_backfill(self, feed: FeedConfig) -> timedelta | Literal["all"]:
        """How far back items already in the feed at its first poll are alerted."""
        return self.defaults.backfill if feed.backfill is None else feed.backfill

    def rule_channels(self, rule: RuleConfig) -> list[str]:
        """The channels a rule notifies: its ``notify`` list, else every channel."""
        return list(self.channels) if rule.notify is None else [r.channel for r in rule.notify]

    def urgent_on(self, rule: RuleConfig, channel: str) -> bool:
        """Whether ``rule``'s alerts go to ``channel`` at once, past its schedule.

        A ``notify`` entry's ``urgent`` wins; else the rule's ``urgent`` applies.
        """
        for route in rule.notify or []:
            if route.channel == channel and route.urgent is not None:
                return route.urgent
        return rule.urgent


def find_config_path(explicit: str | None) -> Path:
    """``--config``, else $NEWS_MONITOR_CONFIG, else /etc/news-monitor, else ./config."""
    if explicit:
        return Path(explicit)
    if os.environ.get("NEWS_MONITOR_CONFIG"):
        return Path(os.environ["NEWS_MONITOR_CONFIG"])
    system = Path("/etc/news-monitor/monitor.yaml")
    return system if system.exists() else Path("config/monitor.yaml")


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
    for warning in found.warnings:
        log.warning("config: %s", warning)
    return found.config, found.source


@dataclass
class Inspection:
    """Everything :func:`inspect` found in one pass (``check`` prints all of it)."""

    config: MonitorConfig | None  # with stand-ins for invalid parts; None if unusable
    source: Source
    errors: list[ConfigIssue]  # sorted by file (the main one first), line, column
    warnings: list[ConfigIssue]
    aside: set[Path_]  # parts replaced by stand-ins (configpartial.py)


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
    if config is not None:
        register_secrets(config_secrets(config))  # masked in every log line and error from now on
        issues += cross_check(config, source, aside)
    main = str(path)
    issues.sort(key=lambda i: (i.file != main, i.file, i.line, i.col))
    return Inspection(config, source, issues, source.warnings, aside)


def cross_check(
    config: MonitorConfig, source: Source, aside: set[Path_] | None = None
) -> list[ConfigIssue]:
    """Checks that need the whole config: rule channels, rule feeds, query syntax,
    duplicate names, and :mod:`monitor.configchecks` (``aside``: stand-ins to skip)."""
    from monitor.rules.query import compile_query

    aside = aside or set()
    issues = feed_checks(config, source, aside) + webhook_url_checks(config, source)
    issues += duplicate_rule_names(config, source)
    health = config.health.channel
    if health is not None and health not in config.channels:
        issues.append(source.issue(("health", "channel"), f"unknown channel {health!r}"))
    feed_names = {f.display_name for f in config.feeds}
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
                not selector.startswith("tag:") and selector not in feed_names
            ):
                known = known_names(sorted(tags if selector.startswith("tag:") else feed_names))
                kind = "tags" if selector.startswith("tag:") else "feeds"
                msg = f"rule {rule.name!r} watches unknown feed {selector!r} ({kind}: {known})"
                issues.append(source.issue(("rules", i, "feeds", j), msg))
        try:
            compile_query(rule.query)
        except RuleSyntaxError as exc:
            quote = 1 if source.quoted.get(("rules", i, "query")) else 0
            issues.append(
                source.issue(
                    ("rules", i, "query"),
                    f"rule {rule.name!r}: {exc} (query column {exc.column})",
                    col_offset=exc.column - 1 + quote,
                )
            )
    for name, channel in config.channels.items():
        unread = any(p[:2] == ("channels", name) for p in source.unread)
        if channel.type == "apprise" and not unread:
            from monitor.notify.apprise import check_channel

            for key, message in check_channel(channel):
                issues.append(source.issue(("channels", name, key), message))
    return issues
