"""When a channel's pending alerts may form a message: schedule, group_wait, quiet hours.

Pure functions of the config and ``now``; the pipeline asks them before each
delivery round and hands the answer to the outbox as a :class:`Forming`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig, QuietHours
from monitor.store.outbox import Forming


def in_quiet_hours(quiet: QuietHours | None, timezone: str, now: datetime) -> bool:
    """Whether ``now`` falls in ``quiet`` (``start`` inclusive, ``end`` exclusive).

    Times are in ``timezone``; a window whose end is before its start spans
    midnight (22:00–07:00). Equal start and end means no quiet hours.
    """
    if quiet is None or quiet.start == quiet.end:
        return False
    local = now.astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def urgent_rules(config: MonitorConfig, channel: str) -> frozenset[str]:
    """Names of the rules urgent on ``channel`` (``urgent: true``, per route or per rule)."""
    return frozenset(r.name for r in config.rules if config.urgent_on(r, channel))


def forming(
    config: MonitorConfig, channel: str, now: datetime, *, regular: bool, drain: bool
) -> Forming:
    """Which of ``channel``'s pending alerts may form a message now.

    ``regular``: the caller is at a point where non-urgent alerts may go (a schedule
    tick, or after a poll for an ``immediate`` channel); quiet hours hold them back.
    Urgent rules' alerts always may. ``drain`` (``run --once``) skips ``group_wait``.
    """
    settings = config.channels[channel]
    quiet = in_quiet_hours(settings.quiet_hours, settings.timezone, now)
    immediate = settings.schedule.kind == "immediate"
    return Forming(
        regular=regular and not quiet,
        urgent_rules=urgent_rules(config, channel),
        group_wait=settings.group_wait if immediate and not drain else timedelta(0),
        max_items=settings.max_items,
    )


def sweep_seconds(config: MonitorConfig, channel: str, default: float) -> float:
    """How often the daemon looks at ``channel`` between ticks (retries, group_wait).

    An ``immediate`` channel is looked at every half ``group_wait`` (at least every
    second), so a burst goes out between ``group_wait`` and 1.5 × ``group_wait``.
    """
    settings = config.channels[channel]
    if settings.schedule.kind != "immediate":
        return default
    return max(1.0, min(default, settings.group_wait.total_seconds() / 2))
