"""Config models of the channels: schedules, quiet hours, console/email/Slack/webhook/apprise.

An apprise channel's URLs are checked here too (:func:`check_apprise_channel`), with the
optional ``apprise`` package imported only then, so the config never imports a notifier.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from monitor.config.channelvalues import parse_address, webhook_key
from monitor.config.values import Duration, Strict, format_duration, parse_duration


class Schedule(Strict):
    """When a channel sends: ``immediate``, ``every: 15m`` or ``cron: 0 7 * * *``."""

    kind: Literal["immediate", "every", "cron"]
    every: timedelta | None = None
    cron: str | None = None

    def __str__(self) -> str:
        """The schedule as the config writes it (``status`` shows it so)."""
        if self.kind == "every":
            return f"every: {format_duration(self.every or timedelta(0))}"  # as written
        return f"cron: {self.cron}" if self.kind == "cron" else "immediate"


def _parse_schedule(value: Any) -> Any:
    if isinstance(value, Schedule):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        value = f"{key}: {arg}"
    text = str(value).strip()
    if text == "immediate":
        return {"kind": "immediate"}
    key, _, arg = text.partition(":")
    if key.strip() == "every" and arg.strip():
        return {"kind": "every", "every": parse_duration(arg.strip())}
    if key.strip() == "cron" and arg.strip():
        from monitor.config.crontab import cron_trigger  # crontab(5), as the daemon

        try:
            cron_trigger(arg.strip(), "UTC")
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {arg.strip()!r}: {exc}") from None
        return {"kind": "cron", "cron": arg.strip()}
    raise ValueError(
        f"invalid schedule {value!r}: use immediate, 'every: 15m' or 'cron: 0 7 * * *'"
    )


ScheduleField = Annotated[Schedule, BeforeValidator(_parse_schedule)]


class QuietHours(Strict):
    """``{start: "22:00", end: "07:00"}`` in the channel's time zone: hold non-urgent alerts."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
        if not match:
            raise ValueError(f"invalid time {value!r}: use HH:MM, e.g. 22:00")
        return f"{int(match[1]):02d}:{match[2]}"


MIN_MESSAGE_BYTES = 1024
WEBHOOK_MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: common reverse-proxy body limits start there
EMAIL_MAX_MESSAGE_BYTES = 10 << 20  # 10 MiB: SMTP servers commonly refuse 10-25 MB


class ChannelBase(Strict):
    """Settings every channel has."""

    schedule: ScheduleField = Field(default="immediate", validate_default=True)
    timezone: str = "UTC"
    timeout: Duration = timedelta(seconds=30)
    max_attempts: int = Field(default=10, ge=1, le=1000)
    group_wait: Duration = timedelta(seconds=30)
    quiet_hours: QuietHours | None = None
    max_items: int | None = Field(default=None, ge=1, le=10000)
    max_age: Duration = timedelta(hours=24)
    # Bytes of one message as sent (monitor/notify/limits.py); None: no bound.
    max_message_bytes: int | None = Field(default=None, ge=MIN_MESSAGE_BYTES, le=1 << 30)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class ConsoleChannel(ChannelBase):
    """Prints alerts to stdout: the channel that works with no setup."""

    type: Literal["console"]


class SmtpSettings(Strict):
    """How to reach the SMTP server: by default port 587 upgraded with STARTTLS
    (RFC 3207); ``tls: true`` is implicit TLS from the first byte (port 465, RFC 8314),
    under which ``starttls`` is not used (docs/channels.md)."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    tls: bool = False
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _one_kind_of_tls(self) -> SmtpSettings:
        """``tls: true`` beside an explicit ``starttls: true`` is an error: implicit TLS
        (RFC 8314) and STARTTLS (RFC 3207) exclude each other, and the notifier would
        silently ignore ``starttls``. Raises ValueError."""
        if self.tls and self.starttls and "starttls" in self.model_fields_set:
            raise ValueError(
                "tls: true (implicit TLS from the first byte, port 465) and starttls: true"
                " (upgrade of a plain connection, port 587) exclude each other: remove"
                " starttls (or set starttls: false) to keep tls: true, or set tls: false"
            )
        return self


def _email_address(value: str) -> str:
    """One RFC 5322 mailbox (:func:`~monitor.config.channelvalues.parse_address`), so
    no header is injected and sending never fails on it. Raises ValueError."""
    parse_address(value)
    return value


# An address of ``from`` or an entry of ``to``: an error is located at the entry.
EmailAddress = Annotated[str, AfterValidator(_email_address)]


class EmailChannel(ChannelBase):
    """Sends multipart text + HTML mail through SMTP."""

    type: Literal["email"]
    smtp: SmtpSettings
    from_: EmailAddress = Field(alias="from")
    to: list[EmailAddress] = Field(min_length=1)
    subject_prefix: str = "[news-monitor]"
    max_message_bytes: int | None = Field(
        default=EMAIL_MAX_MESSAGE_BYTES, ge=MIN_MESSAGE_BYTES, le=1 << 30
    )


class SlackChannel(ChannelBase):
    """Posts Block Kit messages to a Slack incoming webhook."""

    type: Literal["slack"]
    webhook_url: SecretStr


class WebhookChannel(ChannelBase):
    """POSTs the JSON body of docs/design/DESIGN.md, signed per Standard Webhooks if ``secret``."""

    type: Literal["webhook"]
    url: SecretStr
    secret: SecretStr | None = None
    max_message_bytes: int | None = Field(
        default=WEBHOOK_MAX_MESSAGE_BYTES, ge=MIN_MESSAGE_BYTES, le=1 << 30
    )

    @field_validator("secret")
    @classmethod
    def _usable_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """A ``whsec_`` secret must be base64 after its prefix, as the notifier decodes it
        (:func:`~monitor.config.channelvalues.webhook_key`, Standard Webhooks); else every
        send would fail. An empty value is left to the whole-config checks (they know the
        ``${VAR}`` behind it). Raises ValueError; the message never shows the secret."""
        if value is not None:
            webhook_key(value.get_secret_value())
        return value


class AppriseChannel(ChannelBase):
    """Sends through Apprise URLs (Teams, Discord, Telegram, ntfy, ...): optional extra."""

    type: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)
    format: Literal["text", "markdown", "html"] = "text"


Channel = Annotated[
    ConsoleChannel | EmailChannel | SlackChannel | WebhookChannel | AppriseChannel,
    Field(discriminator="type"),
]

APPRISE_INSTALL_HINT = "install the extra: pip install 'news-monitor[apprise]'"
# What config/standins.py puts in place of ``urls`` that failed validation: not judged.
STAND_IN_APPRISE_URL = "json://stand-in.invalid"


def apprise_available() -> bool:
    """Whether the ``apprise`` package is installed (and imports)."""
    try:
        import apprise  # noqa: F401
    except ImportError:
        return False
    return True


# Apprise schemes whose host is a server, never a credential (Apprise's generic JSON,
# XML and form posts and its email): the host of any other may be a token or a topic
# (``pover://USER@TOKEN``, ``ntfy://TOPIC``, ``slack://TOKEN_A/…``).
SERVER_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos"})


def scheme_host(url: str) -> str:
    """``scheme://host`` of an http(s) URL: all a message may show of it. For an
    Apprise URL, its host only when :data:`SERVER_SCHEMES` says it is a server, else
    ``scheme://…`` (its host may be a token)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SERVER_SCHEMES | {"http", "https"}:
        return f"{parts.scheme}://…"
    return f"{parts.scheme}://{parts.hostname or '?'}"


def check_apprise_channel(config: AppriseChannel) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with an apprise channel as ``(key path, message)``: extra missing
    (``("type",)``), a URL Apprise does not know (``("urls", index)``).

    The stand-in of ``urls`` that failed validation (:data:`STAND_IN_APPRISE_URL`) is
    not judged: the error already reported is about the value written. Apprise's own
    log line about the URL (``Unparseable URL``) is kept out of the output: the
    problem returned says it, with no more of the URL than :func:`scheme_host`.
    """
    if not apprise_available():
        hint = f"channel type 'apprise' needs the apprise package: {APPRISE_INSTALL_HINT}"
        return [(("type",), hint)]
    import logging

    import apprise

    problems: list[tuple[tuple[str | int, ...], str]] = []
    quiet = logging.getLogger("apprise")
    was_disabled, quiet.disabled = quiet.disabled, True
    try:
        for index, url in enumerate(config.urls):
            text = url.get_secret_value()
            if text == STAND_IN_APPRISE_URL:
                continue
            if apprise.Apprise.instantiate(text, suppress_exceptions=True) is None:
                message = f"not a supported Apprise URL: {scheme_host(text)}"
                problems.append((("urls", index), message))
    finally:
        quiet.disabled = was_disabled
    return problems
