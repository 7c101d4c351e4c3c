"""The configuration's pydantic models (``extra="forbid"``): feeds, rules, settings, the whole file.

Models only validate shape and values. Reading YAML with line numbers, ``${ENV}``,
``*_file`` secrets and ``include:`` live in :mod:`monitor.config.source`; loading and the
checks that need the whole config (a rule naming an unknown channel, a query that does
not parse) are in :mod:`monitor.config.loading`.
"""

from __future__ import annotations

import logging
import os
import re
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

from monitor.config.channels import Channel, ChannelBase
from monitor.config.store import StoreSettings
from monitor.config.values import Backfill, Duration, Strict
from monitor.redact import redact_url, state_key, strip_userinfo

log = logging.getLogger(__name__)

FEED_URL_SCHEMES = re.compile(r"(?i)(https?://|file:)")  # the feed URLs the config takes


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
        if not FEED_URL_SCHEMES.match(value):
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
    defaults: Defaults = Field(default={}, validate_default=True)
    include: list[str] = []
    templates_dir: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    allow_private_networks: bool = False
    metrics: Annotated[str, AfterValidator(_metrics_address)] | None = None
    watch_config: bool = False
    dedup: DedupSettings = Field(default={}, validate_default=True)
    ingest: IngestSettings = Field(default={}, validate_default=True)
    health: HealthSettings = Field(default={}, validate_default=True)
    store: StoreSettings | None = None  # None: SQLite in state_dir (store.py)
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
