"""Words the CLI's commands share: counts in sentences, what to say when there is no
config file where the commands look, and when a pending message is due
(``status``, ``history``).

A module of its own so that :mod:`monitor.cli` (``main``) and the command modules it
dispatches to (``check``, ``status``, ``retry``, ``preview``, ``import-opml``) share
it without importing each other (no import cycles: tests/unit/test_layout.py).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from monitor.config.loading import CONFIG_ENV, LOCAL_CONFIG, SYSTEM_CONFIG
from monitor.store.codec import parse_ts

IRREGULAR = {"story": "stories", "match": "matches"}  # plurals for count()
# A pending message whose next attempt has come: the state cannot tell a send in
# progress from one the next delivery round makes, so both are said.
DUE_NOW = "due now (being sent, or at the next delivery round)"
# A pending alert or message of a channel the config no longer has (``status`` says the
# same on the channel's line): the daemon delivers only the config's channels.
REMOVED_WAITING = (
    "waiting: channel not in the config (removed or renamed); nothing sends it until "
    "a channel of that name is back"
)


def not_found_hint(path: Path, explicit: str | None) -> str | None:
    """Where the config was looked for and how to name one, when ``path`` (found by
    ``find_config_path(explicit)``) does not exist; None when it does (a config that
    exists but does not load needs no such hint).

    ``(given by --config)``, ``(given by $NEWS_MONITOR_CONFIG; …)``, or, when neither
    was given, the two default paths tried (the second relative to the working
    directory, which is shown; ``news-monitor --help`` lists the order) and the two
    ways to name another: "config file not found" alone says neither.
    """
    if path.exists():
        return None
    if explicit:
        return "(given by --config)"
    if os.environ.get(CONFIG_ENV):
        return f"(given by ${CONFIG_ENV}; --config FILE names another)"
    return (
        f"(no --config, ${CONFIG_ENV} not set, and neither {SYSTEM_CONFIG} nor "
        f"{LOCAL_CONFIG} (in {Path.cwd()}) exists; name the file with --config FILE "
        f"or ${CONFIG_ENV}=FILE)"
    )


def count(n: int, noun: str, *, grouped: bool = False) -> str:
    """``n`` and ``noun``, singular for exactly 1 and plural otherwise (English: "0
    feeds", "1 feed"); the plural is ``noun + "s"`` unless :data:`IRREGULAR` says.
    ``grouped``: the number with thousands separated ("12,096 items")."""
    number = f"{n:,}" if grouped else str(n)
    return f"{number} {noun if n == 1 else IRREGULAR.get(noun, noun + 's')}"


def config_error_text(error: Exception, path: Path, explicit: str | None) -> str:
    """``error`` (a config that does not load) as printed, with :func:`not_found_hint`
    when there is no file at ``path``."""
    hint = not_found_hint(path, explicit)
    return f"{error} {hint}" if hint else str(error)


def disabled_waiting(channel: str, reason: str | None) -> str:
    """What an alert of a channel its destination disabled waits for, as ``status`` and
    ``history`` say it: ``waiting: channel disabled (HTTP 410); `news-monitor retry hook`
    re-enables it``. ``reason``: the stored one (``HTTP 410 from host: …``), of which
    only the status is shown (the whole is on ``status``'s DISABLED line)."""
    why = (reason or "").split(" from ", 1)[0].strip() if reason else ""
    shown = f" ({why})" if why.startswith("HTTP ") else ""
    return f"waiting: channel disabled{shown}; `news-monitor retry {channel}` re-enables it"


def message_id_given(text: str) -> str:
    """A message id as the operator may paste it: bare (``3f2a…``) or the whole email
    ``Message-ID`` header value (``<3f2a…@news-monitor>``, :func:`monitor.notify.email.
    message_id`), whose angle brackets and ``@news-monitor`` are taken off."""
    value = text.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.removesuffix("@news-monitor")


def due_now(next_attempt: str | datetime | None, now: datetime | None = None) -> bool:
    """Whether a pending message's ``next_attempt`` (UTC, stored text or aware) has come
    by ``now`` (default: the clock now): then it is being sent or is sent at the next
    round, and ``status`` and ``history`` say :data:`DUE_NOW` rather than a next attempt
    in the past. False when there is no time."""
    moment = parse_ts(next_attempt) if isinstance(next_attempt, str) else next_attempt
    return moment is not None and moment <= (now or datetime.now(UTC))
