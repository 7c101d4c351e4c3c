"""Logging to stderr, one line per event, journald-friendly, secrets redacted."""

from __future__ import annotations

import logging
import sys

from monitor.redact import redact_url


class RedactingFormatter(logging.Formatter):
    """Formats ``time level logger message`` and strips credentials from URLs."""

    def format(self, record: logging.LogRecord) -> str:
        """The one-line, redacted form of ``record``."""
        line = redact_url(super().format(record))
        return line.replace("\n", " | ")


def setup_logging(level: str = "info") -> None:
    """Send every log record to stderr at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler.scheduler", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
