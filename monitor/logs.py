"""Logging to stderr, one line per event, journald-friendly, secrets redacted.

Two formats: ``text`` (``TIME LEVEL LOGGER: message`` where the message is
``key=value`` pairs, the default) and ``json`` (one JSON object per line, for log
shippers). Both pass the whole line, traceback included, through
:func:`monitor.redact.redact_url`, so URL credentials and every registered secret
value are masked whatever the message says. Neither lets a control character
through raw (a feed's title or a server's answer may hold terminal escape
sequences): text lines show them as ``\\xNN``, JSON lines as ``\\u00NN``.

In JSON, the ``key=value`` pairs a message starts with (``feed='Reuters' rule='korea'
…``, ``channel=team message=ab12… …``) are also keys of their own, so journald and
log shippers filter on ``feed``, ``rule``, ``channel``, ``message`` (the message id),
``item``, ``attempt`` … without parsing text. Only the leading pairs count: what
follows (a server's answer, a title) cannot add keys.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Literal

from monitor.redact import redact_url
from monitor.terminal import escape_controls, json_line

LogFormat = Literal["text", "json"]
NOISY = ("httpx", "httpcore", "apscheduler.scheduler", "apscheduler.executors")
RESERVED = frozenset({"ts", "level", "logger", "msg", "exc"})
MAX_FIELDS = 12
# key=value: a Python string literal (what %r writes) or a token without spaces
_FIELD = re.compile(r"""([a-z][a-z_]*)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]\S*)(?:\s+|$)""")


class RedactingFormatter(logging.Formatter):
    """Formats ``time level logger message`` on one line and strips secrets."""

    def format(self, record: logging.LogRecord) -> str:
        """The one-line, redacted form of ``record``, control characters escaped."""
        line = escape_controls(redact_url(super().format(record)))
        return line.replace("\n", " | ")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``msg`` (+ ``exc``)."""

    def format(self, record: logging.LogRecord) -> str:
        """The redacted JSON line of ``record``."""
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact_url(record.getMessage()),
        }
        for key, value in message_fields(entry["msg"]).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = redact_url(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact_url(record.exc_text)
        return json_line(entry)


def message_fields(message: str) -> dict[str, str | int]:
    """The ``key=value`` pairs ``message`` starts with (at most :data:`MAX_FIELDS`).

    Quoted values (``feed=%r``) are unquoted; whole numbers become ints; an unquoted
    value loses a trailing ``:`` or ``,`` (``message=ab12: …``). Parsing stops at the
    first word that is not a pair.
    """
    fields: dict[str, str | int] = {}
    position = 0
    while len(fields) < MAX_FIELDS and (found := _FIELD.match(message, position)):
        key, raw = found.group(1), found.group(2)
        position = found.end()
        if key in RESERVED:
            continue
        fields[key] = _field_value(raw)
    return fields


def _field_value(raw: str) -> str | int:
    if raw[0] in "'\"":
        try:
            return str(ast.literal_eval(raw))
        except (ValueError, SyntaxError):
            return raw
    value = raw.rstrip(":,")
    return int(value) if value.isdigit() and len(value) < 19 else value


def make_formatter(fmt: LogFormat = "text") -> logging.Formatter:
    """The formatter for ``fmt`` (``text`` or ``json``)."""
    if fmt == "json":
        return JsonFormatter()
    return RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )


class SkippedRunFilter(logging.Filter):
    """APScheduler warns each time a job's run is skipped because its previous run is
    still going ("maximum number of running instances reached"). Every job here runs
    one at a time on purpose (``max_instances: 1``), and a channel's courier due every
    second behind a send that waits on a slow destination warned once a second
    (hostile-feed trial): the send's own lines say what is slow. Such a record is
    shown only at debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a skipped-run warning unless the root logger shows debug."""
        if "maximum number of running instances reached" not in record.getMessage():
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class CancelledJobFilter(logging.Filter):
    """APScheduler logs a job cancelled by the daemon's stop (SIGTERM: a send still
    running after the drain's grace time is cancelled, docs/operations.md "Shutdown
    and clocks") as ``ERROR Job "…" raised an exception`` with a ``CancelledError``
    traceback, on a normal stop (delivery-edge trial). Such a record becomes one INFO
    line without the traceback: the message is resent at the next start."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True; a cancelled job's record rewritten as INFO."""
        error = record.exc_info[1] if record.exc_info else None
        asyncio = sys.modules.get("asyncio")  # not imported: nothing was cancelled
        if asyncio is not None and isinstance(error, asyncio.CancelledError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "%s: cancelled by the daemon's stop", (record.getMessage(),)
            record.exc_info, record.exc_text = None, None
        return True


def setup_logging(level: str = "info", fmt: LogFormat = "text") -> None:
    """Send every log record to stderr at ``level``, formatted as ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, SkippedRunFilter) for f in scheduler.filters):
        scheduler.addFilter(SkippedRunFilter())
    executor = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, CancelledJobFilter) for f in executor.filters):
        executor.addFilter(CancelledJobFilter())


def set_level(level: str) -> None:
    """Change the root level (a reload applies the config's ``log_level``)."""
    logging.getLogger().setLevel(level.upper())
