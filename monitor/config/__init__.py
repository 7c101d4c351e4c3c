"""The configuration: what a config file may say, and reading it into checked models.

The public names are re-exported here, so callers write ``from monitor.config import
MonitorConfig, load``. Inside the package: ``models`` (pydantic models of the whole
file), ``channels`` (channel models, schedules, quiet hours), ``values`` (durations and
other value types), ``source`` (YAML with positions, ``${ENV}``, ``*_file``,
``include:``, duplicate keys), ``marks`` (where each value was written) and ``scalars``
(positions inside a value written over several lines), ``yamlcomposer`` and
``boundedfile`` (bounded reading), ``store`` (the
``store:`` section: PostgreSQL), ``partial`` (invalid parts set aside so every check
still runs), ``checks`` (whole-config checks), ``loading`` (:func:`load`,
:func:`inspect`) and ``statedir`` (the ``--state-dir`` override).
"""

from monitor.config.channels import (
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
from monitor.config.loading import (
    Inspection,
    cross_check,
    find_config_path,
    inspect,
    load,
    load_with_source,
)
from monitor.config.models import (
    DedupSettings,
    Defaults,
    FeedConfig,
    HealthSettings,
    IngestSettings,
    MonitorConfig,
    NotifyRoute,
    RuleConfig,
    RuleExamples,
)
from monitor.config.store import StoreSettings
from monitor.config.values import Backfill, Duration, Strict, format_duration, parse_duration

__all__ = [
    "AppriseChannel",
    "Backfill",
    "Channel",
    "ChannelBase",
    "ConsoleChannel",
    "DedupSettings",
    "Defaults",
    "Duration",
    "EmailChannel",
    "FeedConfig",
    "HealthSettings",
    "IngestSettings",
    "Inspection",
    "MonitorConfig",
    "NotifyRoute",
    "QuietHours",
    "RuleConfig",
    "RuleExamples",
    "Schedule",
    "SlackChannel",
    "SmtpSettings",
    "StoreSettings",
    "Strict",
    "WebhookChannel",
    "cross_check",
    "find_config_path",
    "inspect",
    "load",
    "load_with_source",
    "format_duration",
    "parse_duration",
]
