"""Checks of a whole config that catch, in ``check``, what would otherwise fail later.

Each returns :class:`ConfigIssue` s located at the value at fault (the second of two
duplicates): feeds listed twice, tags spelt in two cases, poll intervals that would
hammer a public server, feed addresses the SSRF guard refuses at ``run``, webhook
URLs and secrets that are empty, URLs with no scheme or host, ``every:`` schedules
under a second (those two of channels: :mod:`monitor.config.channelchecks`), a
``templates_dir`` that is not a directory, and a ``state_dir`` that cannot be created.
None of them resolves a name or opens a connection: only literal addresses and
``localhost`` are judged here (names are judged at connect time, feeds.md). ``file:``
feeds that cannot be read from here are warnings (:func:`file_feed_warnings`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config.source import Path_, Source
from monitor.errors import ConfigIssue, FetchError
from monitor.redact import redact_url

if TYPE_CHECKING:
    from monitor.config.models import FeedConfig, MonitorConfig

# A public server polled more often than once a minute is being hammered; RSS
# readers poll every 15-60 min and RSS 2.0 <ttl> is in minutes.
MIN_PUBLIC_INTERVAL = timedelta(minutes=1)
_LOOPBACK_NAME = re.compile(r"(?i)(.+\.)?localhost\.?")  # RFC 6761 section 6.3


def feed_checks(config: MonitorConfig, source: Source, aside: set[Path_]) -> list[ConfigIssue]:
    """Duplicate feed URLs and names, tags differing only in case, intervals, addresses.

    ``aside`` holds the feeds and feed values replaced by stand-ins or defaults
    (:mod:`monitor.config.partial`): those are not the feed's own, so they are not
    judged; the feed's other values are.
    """
    issues: list[ConfigIssue] = []
    urls: dict[str, int] = {}
    names: dict[str, int] = {}
    short_defaults = False
    for i, feed in enumerate(config.feeds):
        if ("feeds", i) in aside:
            continue
        own_url = ("feeds", i, "url") not in aside
        first = urls.setdefault(feed.key, i) if own_url else i
        if first != i:
            where = _at(source, ("feeds", first, "url"))
            msg = f"feed URL {redact_url(feed.url)} is listed twice (first at {where})"
            issues.append(source.issue(("feeds", i, "url"), msg))
        if feed.name is not None:
            first = names.setdefault(feed.name, i)
            if first != i:
                where = _at(source, ("feeds", first, "name"))
                msg = f"feed name {feed.name!r} is used twice (first at {where})"
                issues.append(source.issue(("feeds", i, "name"), msg))
        problem = None if ("feeds", i, "interval") in aside else interval_problem(config, feed)
        if problem and (feed.interval is not None or not short_defaults):
            short_defaults = short_defaults or feed.interval is None
            path = (
                ("feeds", i, "interval") if feed.interval is not None else ("defaults", "interval")
            )
            issues.append(source.issue(path, problem))
        problem = address_problem(feed, _allow_private(config, feed)) if own_url else None
        if problem:
            issues.append(source.issue(("feeds", i, "url"), problem))
    return issues + _adaptive_min(config, source, aside) + list(_tag_case(config, source))


def _adaptive_min(config: MonitorConfig, source: Source, aside: set[Path_]) -> list[ConfigIssue]:
    """``adaptive_min`` bounds an adaptive feed's interval as ``interval`` does a fixed one."""
    shortest = config.defaults.adaptive_min
    if shortest >= MIN_PUBLIC_INTERVAL:
        return []
    for i, feed in enumerate(config.feeds):
        public = not _local(feed, _allow_private(config, feed))
        own = not {("feeds", i), ("feeds", i, "url")} & aside
        if own and config.feed_adaptive(feed) and public:
            msg = (
                f"defaults.adaptive_min {_seconds(shortest)} is shorter than 1m: adaptive feed"
                f" {feed.display_name!r} on a public host could be polled that often"
            )
            return [source.issue(("defaults", "adaptive_min"), msg)]
    return []


def _at(source: Source, path: Path_) -> str:
    mark = source.locate(path)
    return f"{mark.file}:{mark.line}"


def _allow_private(config: MonitorConfig, feed: FeedConfig) -> bool:
    own = feed.allow_private_networks
    return config.allow_private_networks if own is None else own


def interval_problem(config: MonitorConfig, feed: FeedConfig) -> str | None:
    """Why ``feed``'s poll interval is refused, or None.

    Zero never works; under :data:`MIN_PUBLIC_INTERVAL` is allowed only for a feed
    that hammers nobody else: a ``file:`` feed, or one on ``localhost`` or a literal
    loopback/private address that ``allow_private_networks`` lets it reach (tests and
    local bridges poll every second).
    """
    own = feed.interval is not None
    interval = feed.interval if own else config.defaults.interval
    key = "interval" if own else "defaults.interval"
    if interval <= timedelta(0):
        return f"{key} {_seconds(interval)}: a feed needs an interval above 0s (at least 1m)"
    if interval >= MIN_PUBLIC_INTERVAL or _local(feed, _allow_private(config, feed)):
        return None
    return (
        f"{key} {_seconds(interval)} for feed {feed.display_name!r} is shorter than 1m: a"
        " public server would be polled every few seconds; use 1m or more (shorter only"
        " for file: feeds and feeds on localhost or a private address with"
        " allow_private_networks)"
    )


def _seconds(interval: timedelta) -> str:
    return f"{interval.total_seconds():g}s"


def _local(feed: FeedConfig, allow_private: bool) -> bool:
    if feed.url.lower().startswith("file:"):
        return True
    if not allow_private:
        return False
    from monitor.ingest.urlguard import check_form  # httpx: only for a feed to judge

    try:
        host = check_form(feed.url)
    except FetchError:
        return False
    if _LOOPBACK_NAME.fullmatch(host):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def address_problem(feed: FeedConfig, allow_private: bool) -> str | None:
    """Why ``run`` would refuse ``feed``'s host (the SSRF rule, urlguard.py), or None.

    Only literal IP addresses and ``localhost`` names (no DNS). A URL of a form the
    guard refuses (another IPv4 notation, a control character) is left to the poll,
    where it fails its feed alone with its own message (feeds.md).
    """
    if feed.url.lower().startswith("file:"):
        return None
    from monitor.ingest.urlguard import check_form, host_refusal  # httpx: only here

    try:
        host = check_form(feed.url)
    except FetchError:
        return None
    reason = host_refusal(host, host if allow_private else None)
    if reason is None and not allow_private and _LOOPBACK_NAME.fullmatch(host):
        reason = f"{host} is a loopback name"
    if reason is None:
        return None
    shown = redact_url(feed.url)
    if "metadata" in reason:
        return f"feed URL {shown}: {reason}: always refused"
    return (
        f"feed URL {shown}: {reason}: `run` refuses it unless allow_private_networks: true"
        " (on the feed or at the top level)"
    )


def file_feed_warnings(
    config: MonitorConfig, source: Source, aside: set[Path_]
) -> list[ConfigIssue]:
    """``file:`` feeds that ``run`` could not read from here, as warnings at their URL
    (the service may run as another user, or in another working directory, where the
    path holds): missing, unreadable, or a directory. A relative path is relative to
    the working directory (configuration.md), which the message names.
    """
    warnings = []
    for i, feed in enumerate(config.feeds):
        if {("feeds", i), ("feeds", i, "url")} & aside or feed.url[:5].lower() != "file:":
            continue
        if problem := file_problem(feed.url):
            warnings.append(source.issue(("feeds", i, "url"), problem))
    return warnings


def file_problem(url: str) -> str | None:
    """Why the file of the ``file:`` ``url`` cannot be read, or None. Opened without
    blocking (a FIFO is not waited on) and closed unread."""
    from monitor.ingest.fetch import file_path  # httpx: only for a file: feed to judge

    path = file_path(url)
    where = "" if path.is_absolute() else f" (relative to the working directory {Path.cwd()})"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return f"feed {url}: cannot read {path}{where}: {exc.strerror}"
    except ValueError as exc:  # a NUL in the path (%00): no file has that name
        return f"feed {url}: cannot read {str(path)!r}{where}: {exc}"
    try:
        if os.path.isdir(path):
            return f"feed {url}: {path}{where} is a directory, not a feed file"
    finally:
        os.close(fd)
    return None


def _tag_case(config: MonitorConfig, source: Source) -> Iterator[ConfigIssue]:
    """Tags are compared exactly; ``Korea`` beside ``korea`` is a typo waiting to bite."""
    spelling: dict[str, str] = {}
    reported: set[str] = set()
    for i, feed in enumerate(config.feeds):
        for j, tag in enumerate(feed.tags):
            first = spelling.setdefault(tag.casefold(), tag)
            if first != tag and tag not in reported:
                reported.add(tag)
                msg = f"tag {tag!r} differs from tag {first!r} only in case: write one spelling"
                yield source.issue(("feeds", i, "tags", j), msg)


def state_dir_problem(state_dir: Path) -> tuple[str, bool] | None:
    """Why ``state_dir`` cannot hold the state, as ``(message, is_error)``, or None.

    Nothing is created. A directory that exists but that this user may not write is
    a warning only (the service may run as another user, as systemd's
    ``DynamicUser=`` does); one that cannot be created at all is an error.
    """
    path = state_dir.absolute()
    try:
        if path.exists():
            if not path.is_dir():
                return f"state_dir {state_dir} is not a directory", True
            if not os.access(path, os.W_OK | os.X_OK):
                who = f"uid {os.getuid()}"
                return f"state_dir {state_dir} is not writable by this user ({who})", False
            return None
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    except OSError as exc:
        return f"state_dir {state_dir} cannot be used: {exc.strerror}", True
    if not parent.is_dir():
        return f"state_dir {state_dir} cannot be created: {parent} is not a directory", True
    if not os.access(parent, os.W_OK | os.X_OK):
        return (
            f"state_dir {state_dir} cannot be created: {parent} is not writable"
            f" (uid {os.getuid()})",
            True,
        )
    return None


def known_names(names: list[str], limit: int = 20) -> str:
    """The names an unknown reference could have meant: ``a, b, c`` (at most
    ``limit``, then ``… (N more)``), or ``none defined``."""
    shown = ", ".join(str(n) for n in names[:limit]) or "none defined"
    return shown + (f" … ({len(names) - limit} more)" if len(names) > limit else "")


def duplicate_rule_names(config: MonitorConfig, source: Source) -> list[ConfigIssue]:
    """A rule name used twice, at its second use: names key matches, alerts and ``--rule``."""
    first: dict[str, int] = {}
    issues = []
    for i, rule in enumerate(config.rules):
        j = first.setdefault(rule.name, i)
        if j != i:
            where = _at(source, ("rules", j, "name"))
            msg = f"rule name {rule.name!r} is used twice (first at {where})"
            issues.append(source.issue(("rules", i, "name"), msg))
    return issues


def templates_dir_problem(config: MonitorConfig, source: Source) -> ConfigIssue | None:
    """A ``templates_dir`` that is not a directory, at its key, with the resolved path.

    A relative ``templates_dir`` is relative to the config file's folder
    (:func:`monitor.config.source.read_config` made it absolute); the message shows
    both the value as written and the folder it names.
    """
    folder = config.templates_dir
    if folder is None or folder.is_dir():
        return None
    written = source.written.get(("templates_dir",))
    shown = f"{written} (relative to the config file: {folder})" if written else folder
    state = "is not a directory" if folder.exists() else "does not exist"
    return source.issue(("templates_dir",), f"templates_dir {shown} {state}")
