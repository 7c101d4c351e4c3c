"""The one exception tree of news-monitor.

Every failure a user can meet is a subclass of :class:`MonitorError`, so the CLI and
the daemon can report it as one line without a traceback. Messages never contain
secrets: callers pass redacted URLs (see :func:`monitor.redact.redact_url`).
"""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Base of every error news-monitor raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located as FILE:LINE:COL (1-based)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class ConfigError(MonitorError):
    """The configuration (YAML, rules, templates, examples) is invalid."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class RuleSyntaxError(MonitorError):
    """A rule query cannot be parsed; ``column`` is 1-based inside the query."""

    def __init__(self, message: str, column: int = 1) -> None:
        self.column = column
        super().__init__(message)


class FetchError(MonitorError):
    """A feed or article could not be fetched.

    ``kind`` is a short machine-readable class (``timeout``, ``connect``, ``http``,
    ``too_large``, ``redirects``, ``file``, ``tls``; ``blocked``: the SSRF rule refused
    the URL; ``url``: a URL we cannot send) used in status and metrics.
    """

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        self.kind = kind
        self.status = status
        super().__init__(message)


class ParseError(MonitorError):
    """Fetched bytes are not a feed we can read."""


class DeliveryError(MonitorError):
    """A channel could not deliver a message.

    ``retryable`` says whether trying again later can help (connection errors,
    timeouts, HTTP 429/5xx, SMTP 4xx); ``retry_after`` is the delay in seconds the
    destination asked for, if any.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(message)


class StateLockedError(MonitorError):
    """Another news-monitor daemon already holds the state directory."""


class StateDatabaseError(MonitorError):
    """The state database cannot be opened: corrupt, not a file, or not writable.

    The message names the file and what to do (restore a backup or move it away).
    """
