"""When a channel's pending alerts may form a message: schedule, group_wait, quiet hours.

Pure functions of the config and ``now``; the pipeline asks them before each
delivery round and hands the answer to the outbox as a :class:`Forming`. Whether a
channel is held by quiet hours, and until when, is :func:`held`: delivery decides by
it (through :func:`forming`), and ``status`` and ``history`` show it, so what they say
is the rule delivery follows. The one side effect is :func:`forming`'s INFO line when
a channel's quiet hours begin to hold its alerts (once per window).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config import MonitorConfig, QuietHours
from monitor.store.outbox import Forming

log = logging.getLogger(__name__)
_announced: dict[str, datetime] = {}  # channel -> the end of the window logged as holding


@dataclass(frozen=True)
class Hold:
    """A channel's quiet hours hold its non-urgent alerts now.

    ``until``: when the window ends (aware, UTC); ``timezone``: the channel's (the
    window's times are in it); ``urgent_rules``: the rules whose alerts still go.
    """

    until: datetime
    timezone: str
    urgent_rules: frozenset[str]

    def local_until(self) -> str:
        """``until`` for people: ``07:00 (Asia/Seoul)``, in the channel's time zone."""
        return f"{self.until.astimezone(ZoneInfo(self.timezone)):%H:%M} ({self.timezone})"

    def text(self, consequence: str = "", *, with_urgent: bool = True) -> str:
        """The hold in words, as the log, ``status``, ``history`` and ``preview`` say it:
        ``held by quiet hours until 07:00 (Asia/Seoul)``, then ``consequence`` (e.g.
        ``: not sent before then``), then ``; urgent rules still go: a, b`` when any
        (``with_urgent`` False: for one non-urgent alert, where they do not matter)."""
        text = f"held by quiet hours until {self.local_until()}{consequence}"
        if with_urgent and self.urgent_rules:
            text += f"; urgent rules still go: {', '.join(sorted(self.urgent_rules))}"
        return text


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


def quiet_until(quiet: QuietHours | None, timezone: str, now: datetime) -> datetime | None:
    """When the quiet window that ``now`` falls in ends (aware, UTC), or None when
    ``now`` is outside ``quiet`` (:func:`in_quiet_hours`). The end is the first time
    after ``now`` the clock of ``timezone`` reads ``quiet.end``, as
    :func:`in_quiet_hours` reads the wall clock: on the night clocks go back, the
    second reading of a repeated hour counts (PEP 495 ``fold``); on the night they
    go forward past ``quiet.end``, the jump itself ends the window."""
    if quiet is None or not in_quiet_hours(quiet, timezone, now):
        return None
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    end_time = time(*(int(part) for part in quiet.end.split(":")))
    ends = (_instant(day + timedelta(days=days), end_time, zone) for days in (0, 1))
    return min(end for pair in ends for end in pair if end > now)


def _instant(day: date, clock: time, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants the wall clock of ``zone`` reads ``clock`` on ``day``: one, two
    (a repeated hour), or for a time the clock skips, the instant of the jump."""
    first, second = (
        datetime.combine(day, clock.replace(fold=fold), tzinfo=zone).astimezone(UTC)
        for fold in (0, 1)
    )
    if first <= second:  # one reading, or two (fold 1 the later)
        return (first, second)
    # Skipped: the jump is between the two readings, where the offset changes. Found
    # by the offset, not the clock: a jump at midnight (America/Santiago, Africa/Cairo)
    # reads 23:59 the minute before, which no clock comparison with 00:00 orders.
    before = second.astimezone(zone).utcoffset()
    instant = second
    while instant < first and instant.astimezone(zone).utcoffset() == before:
        instant += timedelta(minutes=1)  # at most the hour or so clocks skip
    return (instant,)


def held(config: MonitorConfig, channel: str, now: datetime) -> Hold | None:
    """Whether ``channel``'s quiet hours hold its non-urgent alerts at ``now``, and until
    when; None when they do not (no quiet hours, or outside the window).

    The one rule delivery (:func:`forming`), ``status`` and ``history`` share: alerts
    of the channel's urgent rules (:func:`urgent_rules`) go anyway, and a message
    formed before the window keeps being retried (docs/channels.md).
    """
    settings = config.channels[channel]
    until = quiet_until(settings.quiet_hours, settings.timezone, now)
    if until is None:
        return None
    return Hold(until, settings.timezone, urgent_rules(config, channel))


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
    hold = held(config, channel, now)
    if regular:
        _announce(channel, hold)
    immediate = settings.schedule.kind == "immediate"
    return Forming(
        regular=regular and hold is None,
        urgent_rules=hold.urgent_rules if hold else urgent_rules(config, channel),
        group_wait=settings.group_wait if immediate and not drain else timedelta(0),
        max_items=settings.max_items,
    )


def _announce(channel: str, hold: Hold | None) -> None:
    """Log at INFO, once per window, that quiet hours hold ``channel``'s alerts."""
    if hold is None:
        _announced.pop(channel, None)
        return
    if _announced.get(channel) == hold.until:
        return
    _announced[channel] = hold.until
    log.info("channel=%s %s", channel, hold.text(": non-urgent alerts wait"))


def sweep_seconds(config: MonitorConfig, channel: str, default: float) -> float:
    """How often the daemon looks at ``channel`` between ticks (retries, group_wait).

    An ``immediate`` channel is looked at every half ``group_wait`` (at least every
    second), so a burst goes out between ``group_wait`` and 1.5 × ``group_wait``.
    """
    settings = config.channels[channel]
    if settings.schedule.kind != "immediate":
        return default
    return max(1.0, min(default, settings.group_wait.total_seconds() / 2))
