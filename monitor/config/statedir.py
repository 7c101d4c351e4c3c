"""Which state directory a command works on, so the CLI finds the service's state.

The config's ``state_dir`` (default ``$STATE_DIRECTORY``, which systemd sets for the
unit, else ``./var``) is overridden by ``--state-dir DIR`` and, below it, by
``$NEWS_MONITOR_STATE_DIR``: an admin shell has no ``$STATE_DIRECTORY``, and the
unit's config leaves ``state_dir`` unset (docs/operations.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from monitor.config.models import MonitorConfig
from monitor.errors import MonitorError

STATE_DIR_ENV = "NEWS_MONITOR_STATE_DIR"
_STATE_DIR_LINE = re.compile(r"^state_dir:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)
_STORE_LINE = re.compile(r"^store\s*:", re.MULTILINE)
MAX_RAW_BYTES = 1 << 20  # a broken config is only scanned for state_dir in its first 1 MiB


def override() -> Path | None:
    """The state directory forced by ``$NEWS_MONITOR_STATE_DIR`` (which the CLI sets
    from ``--state-dir``), or None to keep the config's."""
    value = os.environ.get(STATE_DIR_ENV, "").strip()
    return Path(value) if value else None


def apply(config: MonitorConfig) -> MonitorConfig:
    """``config`` with its ``state_dir`` replaced by the override, if any."""
    forced = override()
    if forced is None or forced == config.state_dir:
        return config
    return config.model_copy(update={"state_dir": forced})


def sqlite_state_without_config(config_path: Path) -> Path:
    """:func:`without_config`, for a config whose state is SQLite: raise MonitorError
    (one line) when the file has a top-level ``store:`` line, since its state is then
    a PostgreSQL database that only a config that loads can name; a ``monitor.db``
    left in ``state_dir`` (the backup kept by ``store copy``) is not the state."""
    text = _raw_head(config_path)
    if _STORE_LINE.search(text):
        raise MonitorError(
            f"{config_path} names a PostgreSQL store (store:) and does not load: fix it"
            " to read the state (a monitor.db in state_dir is not the state)"
        )
    return _state_dir_in(text)


def without_config(config_path: Path) -> Path:
    """The state directory when the config cannot be loaded (``status`` beside a broken
    config): the override, else a top-level ``state_dir:`` line of the file (read as
    text, first 1 MiB, since the YAML may be what is broken), else ``$STATE_DIRECTORY``,
    else ``./var``, as :class:`MonitorConfig` would choose."""
    return _state_dir_in(_raw_head(config_path))


def _raw_head(config_path: Path) -> str:
    """The first :data:`MAX_RAW_BYTES` of a config file as text ("" if unreadable)."""
    try:
        with config_path.open("rb") as f:
            return f.read(MAX_RAW_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _state_dir_in(text: str) -> Path:
    """:func:`without_config`'s choice for a config file's ``text``: the override, its
    ``state_dir:`` line, ``$STATE_DIRECTORY``, else ``./var``."""
    forced = override()
    if forced is not None:
        return forced
    found = _STATE_DIR_LINE.search(text)
    if found:
        return Path(found.group(1))
    return Path(os.environ.get("STATE_DIRECTORY", "var"))
