"""Reloading the config of a running daemon: validate everything first, then swap.

:func:`prepare` reads the config file again and builds everything that comes from it
(rules compiled, templates checked, notifiers built); the daemon calls it through
:func:`prepare_async`, in a worker thread, so a slow config (50,000 rules take
seconds) never stalls polls, sends or the watchdog ping on the event loop. Any problem raises
:class:`ConfigError` (``FILE:LINE:COL: message``) before anything changes, so the
old config keeps running. :func:`diff_feeds` tells which feed jobs must change; the
daemon swaps the runtime's config in place (:meth:`Runtime.swap`), so the store,
pending alerts, poll state and near-duplicate index are untouched. With
``watch_config: true``, :func:`start_watching` polls the files the config reads
(:class:`ConfigWatcher`) and asks for a reload when one changed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import metrics
from monitor.config import FeedConfig, MonitorConfig, load_with_source, statedir
from monitor.errors import ConfigError, ConfigIssue
from monitor.notify import Notifier
from monitor.notify.render import Renderer
from monitor.redact import redact_url
from monitor.rules.index import RuleSet
from monitor.runtime import Runtime, config_parts
from monitor.store.status import record_config_loaded, record_reload_failed

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("monitor.reload")
WATCH_SECONDS = 2.0  # config file polling with watch_config: true


@dataclass
class Prepared:
    """A validated new config and the objects built from it, not yet in use."""

    config: MonitorConfig
    rules: RuleSet
    renderer: Renderer
    notifiers: dict[str, Notifier]
    files: list[Path]


@dataclass
class FeedChanges:
    """Feeds added, removed and changed (by URL) between two configs."""

    added: list[FeedConfig] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[FeedConfig] = field(default_factory=list)
    interval_changed: set[str] = field(default_factory=set)
    unchanged: int = 0


def prepare(path: Path, rt: Runtime) -> Prepared:
    """Load and fully validate the config at ``path``; raise ConfigError on any problem."""
    config, source = load_with_source(path)
    config = statedir.apply(config)  # --state-dir / $NEWS_MONITOR_STATE_DIR hold on reload
    problems = Renderer(config.templates_dir).check()
    if problems:
        raise ConfigError([_issue(p) for p in problems])
    keep = {}
    if config.state_dir.resolve() != rt.config.state_dir.resolve():
        log.warning("reload: state_dir changes need a restart; still using %s", rt.config.state_dir)
        keep["state_dir"] = rt.config.state_dir
    if config.metrics != rt.config.metrics:
        log.warning("reload: a new metrics address needs a restart; still serving the old one")
        keep["metrics"] = rt.config.metrics
    if keep:
        config = config.model_copy(update=keep)
    rules, renderer, notifiers = config_parts(config, rt.http)
    return Prepared(config, rules, renderer, notifiers, watched_files(path, source, config))


async def prepare_async(path: Path, rt: Runtime) -> Prepared:
    """:func:`prepare` in a worker thread (``asyncio.to_thread``), off the event loop.

    Only reads the running config; the caller swaps the result in on the loop.
    Raises what :func:`prepare` raises.
    """
    return await asyncio.to_thread(prepare, path, rt)


def _issue(problem: str) -> ConfigIssue:
    """A ``FILE:LINE:COL: message`` string from the renderer as a ConfigIssue."""
    parts = problem.split(":", 3)
    if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
        return ConfigIssue(parts[0], int(parts[1]), int(parts[2]), parts[3].strip())
    return ConfigIssue("<templates>", 1, 1, problem)


def diff_feeds(old: MonitorConfig, new: MonitorConfig) -> FeedChanges:
    """What changed in the feed list, feed by feed (a feed is known by its URL)."""
    before = {f.url: f for f in old.feeds}
    after = {f.url: f for f in new.feeds}
    changes = FeedChanges(removed=[u for u in before if u not in after])
    for url, feed in after.items():
        if url not in before:
            changes.added.append(feed)
        elif feed != before[url] or old.feed_interval(feed) != new.feed_interval(feed):
            changes.changed.append(feed)
            if old.feed_interval(before[url]) != new.feed_interval(feed):
                changes.interval_changed.add(url)
        else:
            changes.unchanged += 1
    return changes


def watched_files(path: Path, source: object, config: MonitorConfig) -> list[Path]:
    """The files a config was read from (main file, includes) and its user templates."""
    files = {path}
    for mark in getattr(source, "marks", {}).values():
        if mark.file and not mark.file.startswith("<"):
            files.add(Path(mark.file))
    directories = {f.parent for f in files}
    if config.templates_dir is not None and config.templates_dir.is_dir():
        directories.add(config.templates_dir)
        files.update(config.templates_dir.glob("*.j2"))
    return sorted(files | directories)


class ConfigWatcher:
    """Notices a change to the config files by their modification times (polled)."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self._seen = self._stamp()
        self._pending: dict[Path, int | None] | None = None

    def _stamp(self) -> dict[Path, int | None]:
        stamps: dict[Path, int | None] = {}
        for f in self.files:
            try:
                st = os.stat(f)
                stamps[f] = st.st_mtime_ns ^ st.st_size ^ st.st_ino
            except OSError:
                stamps[f] = None
        return stamps

    def changed(self) -> bool:
        """True once after a watched file (or folder) changed and then held still for a poll.

        Waiting for two equal looks means a file still being written is not read half-done.
        """
        now = self._stamp()
        if now == self._seen:
            self._pending = None
            return False
        if now != self._pending:
            self._pending = now
            return False
        self._seen, self._pending = now, None
        return True

    def watch(self, files: list[Path]) -> None:
        """Watch ``files`` from now on (after a reload added or dropped includes)."""
        self.files = files
        self._seen = self._stamp()


def start_watching(
    scheduler: AsyncIOScheduler,
    path: Path,
    reload: Callable[[str], Awaitable[object]],
    enabled: Callable[[], bool],
) -> ConfigWatcher:
    """Watch the config file ``path`` and every file it reads (includes, secret files,
    templates: :func:`watched_files`), polled every :data:`WATCH_SECONDS` by a
    ``watch-config`` job of ``scheduler`` (replacing one already there), which awaits
    ``reload("config file changed")`` after a change while ``enabled()`` (the running
    config's ``watch_config``). If the file does not load now, only ``path`` is watched
    (the running config came from it). The watcher, so a reload can change its files."""
    from apscheduler.triggers.interval import IntervalTrigger

    try:
        config, source = load_with_source(path)
        files = watched_files(path, source, config)
    except Exception:  # the running config came from this file: watch at least it
        files = [path]
    watcher = ConfigWatcher(files)

    async def watch() -> None:
        if enabled() and watcher.changed():
            await reload("config file changed")

    scheduler.add_job(
        watch,
        IntervalTrigger(seconds=WATCH_SECONDS),
        id="watch-config",
        name="watch config",
        replace_existing=True,
    )
    # the daemon's line, as before start_watching moved here
    logging.getLogger("monitor.daemon").info(
        "watching %d config files and folders for changes", len(files)
    )
    return watcher


async def record_config(rt: Runtime, errors: str | None) -> None:
    """Tell ``status`` (the state database) and the metrics that the running config was
    just loaded (``errors`` None) or that a reload failed with ``errors`` (redacted
    here: secrets and URL credentials never reach the database). A store error is
    logged, never raised: it must not stop a reload or the start."""
    if errors is None:
        metrics.config_loaded()
    else:
        metrics.reload_failed()
    try:
        if errors is None:
            await rt.db.run(record_config_loaded, datetime.now(UTC))
        else:
            await rt.db.run(record_reload_failed, datetime.now(UTC), redact_url(errors))
    except Exception as exc:
        log.error("could not record the config reload in the state database: %s", exc)
