"""Whole-config checks of channel values: Slack and webhook URLs and secrets,
``every:`` schedules (re-exported by :mod:`monitor.config.checks`).

They judge each value of a channel on its own, so every bad value of one channel is
reported in the same run. A value that failed validation was replaced by a default or
a stand-in (:mod:`monitor.config.standins`) that passes them: it is reported once, by
validation, in the words of its own error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from monitor.config.channelvalues import http_url_problem
from monitor.config.source import Path_, Source
from monitor.config.values import format_duration
from monitor.errors import ConfigIssue

if TYPE_CHECKING:
    from monitor.config.models import MonitorConfig

# The shortest ``every:`` schedule: an immediate channel's sweep runs about every
# second (channels.md), so a shorter tick sends nothing sooner; 0 is no tick at all.
MIN_SCHEDULE_EVERY = timedelta(seconds=1)


def webhook_url_checks(config: MonitorConfig, source: Source) -> list[ConfigIssue]:
    """Empty Slack and webhook URLs and webhook secrets (an empty ``${VAR}`` under
    systemd), and URLs that are not ``http(s)://HOST…`` with a valid RFC 3986 host
    (:func:`~monitor.config.channelvalues.http_url_problem`, the rule the notifiers
    apply at send time).

    The values are secrets: messages never show them. Secrets this process could not
    read (``secrets="optional"``) are not judged.
    """
    issues = []
    for name, channel in config.channels.items():
        keys = {"slack": ("webhook_url",), "webhook": ("url", "secret")}.get(channel.type, ())
        for key in keys:
            path: Path_ = ("channels", name, key)
            secret = getattr(channel, key)
            if secret is None or path in source.unread:
                continue
            value = secret.get_secret_value().strip()
            where = f"channels.{name}.{key}"
            if not value:
                refs = source.env_refs.get(path)
                hint = f" (is the environment variable {', '.join(refs)} set?)" if refs else ""
                issues.append(source.issue(path, f"{where} is empty{hint}"))
            elif key != "secret" and (problem := http_url_problem(value)):
                issues.append(source.issue(path, f"{where} {problem} (value not shown)"))
    return issues


def schedule_checks(config: MonitorConfig, source: Source) -> list[ConfigIssue]:
    """``every:`` schedules shorter than :data:`MIN_SCHEDULE_EVERY` (``every: 0s``).

    A channel sends one message per tick (channels.md); a tick of 0s is none: the
    daemon scheduled no tick and formed no message for it (only ``run --once`` sent),
    while ``status`` showed ``immediate``. Under a second, ``immediate`` (swept about
    every second) is what the user means, and the message says so.
    """
    issues = []
    for name, channel in config.channels.items():
        every = channel.schedule.every
        if channel.schedule.kind == "every" and every is not None and every < MIN_SCHEDULE_EVERY:
            msg = (
                f"schedule 'every: {format_duration(every)}': every needs a duration of at"
                " least 1s; to send as soon as alerts arrive, use schedule: immediate"
            )
            issues.append(source.issue(("channels", name, "schedule"), msg))
    return issues


LOOPBACK_HOSTS = ("localhost", "127.", "::1", "[::1]")  # a login there stays on this machine


def clear_login_warnings(config: MonitorConfig, source: Source) -> list[ConfigIssue]:
    """Email channels that log in (``username`` with a password) over a connection
    without TLS to another machine: the password crosses the network readable (AUTH
    PLAIN/LOGIN are base64, RFC 4954 section 4, which recommends TLS). Warnings at the
    ``smtp`` key: a relay on a trusted network may be meant."""
    warnings = []
    for name, channel in config.channels.items():
        smtp = getattr(channel, "smtp", None)
        if smtp is None or smtp.tls or smtp.starttls or not smtp.username:
            continue
        if smtp.password is None or smtp.host.lower().startswith(LOOPBACK_HOSTS):
            continue
        warnings.append(
            source.issue(
                ("channels", name, "smtp"),
                f"channels.{name}.smtp logs in to {smtp.host} without TLS (starttls: false):"
                " the password crosses the network readable; set starttls: true (port"
                " 587) or tls: true (port 465), or log in only to a relay on this machine",
            )
        )
    return warnings
