"""A channel's ``cron:`` schedule read as crontab(5), fired once per local day and time.

APScheduler 3's ``CronTrigger.from_crontab`` differs from crontab(5) in three ways
that matter to a digest, all fixed here (:class:`LocalDayCronTrigger`):

- **day of week**: APScheduler 3 counts 0 as Monday (its issue #286, kept for
  compatibility until 4.x), so ``1-5`` ran Tuesday to Saturday and ``7`` was refused.
  Numbers are read as crontab(5) does: 0 and 7 are Sunday, 1 Monday ... 6 Saturday,
  in lists, ranges and steps (``*`` is 0-7, so ``*/2`` is Sunday, Tuesday, Thursday,
  Saturday); names (``mon-fri``, ``sun``) are unchanged.
- **day of month and day of week both restricted** (neither field starts with ``*``):
  crontab(5) runs the job when *either* matches (``0 7 1 * 1``: the 1st of the month
  and every Monday); APScheduler ANDs them. Here they are ORed.
- **daylight saving time**: each matching local day is taken with its wall-clock times
  (``LocalDayCronTrigger._first_on``). A fixed time (neither the minute nor the
  hour field starts with ``*``: cron(8)'s rule) in the repeated hour fires at its
  first occurrence only; one in the skipped hour fires once, the length of the jump
  later by the new clock (02:30 on a 02:00→03:00 night is 03:30, where Vixie cron
  would run it right after the jump, at 03:00; 00:00 on a midnight jump, America/
  Santiago 2026-09-06, is 01:00). A schedule with ``*`` in its minute or
  hour field runs by the new clock: in both copies of the repeated hour, not at all in
  the skipped hour. APScheduler
  alone fired a fixed time of the repeated hour twice when the hour field was fixed
  with several minutes, and skipped the whole day when the clock jumped at midnight.

Both the daemon's digest job and the stored ticks of several instances
(:func:`monitor.service.jobs.digest_tick`) use this trigger; ``status`` shows its times.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.util import astimezone

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""crontab(5)'s day-of-week numbers 0-6 (7 is Sunday again) as APScheduler's names."""
_NUMERIC = re.compile(r"^(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?$")
_MIDNIGHT = datetime(2000, 1, 1, tzinfo=UTC)
MARGIN = timedelta(hours=3)
"""More than any daylight-saving jump (Antarctica/Troll's 2 h): how far a local time
of day can be from its instant's place among the day's wall-clock times."""


def crontab_weekdays(field: str) -> str:
    """A crontab(5) day-of-week field as APScheduler 3 reads it (names, not numbers).

    ``0``/``7`` are Sunday ... ``6`` Saturday; ranges ``1-5``, steps ``*/2``, ``1-5/2``
    and ``n/step`` (``n`` to 7) are expanded to the days they name; a field of ``*``
    and items with names (``mon-fri``) are kept as written. Raises ValueError for a
    number above 7, a range going backwards or a step of 0 (crontab(5) ranges: 0-7).
    """
    if field == "*":
        return field
    items: list[str] = []
    for item in field.split(","):
        found = _NUMERIC.match(item)
        if found is None:  # a name or a range of names: APScheduler reads those right
            items.append(item)
            continue
        star, first, last, step = found.groups()
        low = 0 if star else int(first)
        high = 7 if star or (last is None and step) else int(last or first)
        every = int(step or 1)
        if high > 7 or low > high or every == 0:
            raise ValueError(f"day of week {item!r}: use 0-7 (0 or 7 is Sunday), e.g. 1-5")
        days = sorted({day % 7 for day in range(low, high + 1, every)})
        items.extend(WEEKDAYS[day] for day in days)
    return ",".join(dict.fromkeys(items))


class LocalDayCronTrigger(BaseTrigger):
    """A crontab(5) expression in a time zone, fired day by local day (module doc).

    Stateless: the next fire time depends on the expression and the start only, so a
    job's trigger, a stored tick and ``status`` agree, and a restart changes nothing.
    """

    __slots__ = ("_days", "_times", "expression", "fixed", "timezone")

    def __init__(self, expression: str, timezone: Any) -> None:
        """Parse ``expression`` (5 fields) for ``timezone`` (a tzinfo or an IANA name).

        Raises ValueError for a wrong number of fields or a field APScheduler refuses.
        """
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
        minute, hour, dom, month, dow = fields
        self.expression = " ".join(fields)
        self.timezone: tzinfo = astimezone(timezone)
        self.fixed = not (minute.startswith("*") or hour.startswith("*"))
        weekdays = crontab_weekdays(dow)
        either = not (dom.startswith("*") or dow.startswith("*"))  # crontab(5): OR
        pairs = [(dom, "*"), ("*", weekdays)] if either else [(dom, weekdays)]
        self._days = [
            CronTrigger(day=d, month=month, day_of_week=w, hour=0, minute=0, timezone=UTC)
            for d, w in pairs
        ]
        hours = _values(CronTrigger(hour=hour, minute=0, second=0, timezone=UTC), "hours")
        minutes = _values(CronTrigger(minute=minute, second=0, timezone=UTC), "minutes")
        self._times = [time(h, m) for h in hours for m in minutes]
        if not self._times:  # cannot happen with a valid field; guards the walk above
            raise ValueError(f"cron expression {expression!r} has no time of day")

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first fire time at or after ``now``, or strictly after
        ``previous_fire_time`` when that is earlier (APScheduler's contract: the
        scheduler coalesces the runs missed meanwhile). Aware, in the trigger's time
        zone, a real local time; None when the expression matches no day again."""
        # In UTC: aware times of one ZoneInfo compare by wall clock, fold ignored.
        start = now.astimezone(UTC)
        if previous_fire_time is not None:  # as CronTrigger: never the previous again
            previous = previous_fire_time.astimezone(UTC)
            start = min(start, previous + timedelta(microseconds=1))
            if start == previous:
                start += timedelta(microseconds=1)
        day = start.astimezone(self.timezone).date() - timedelta(days=1)
        best: datetime | None = None
        while (found := self._next_day(day)) is not None:
            # A jump late at night can carry a time past midnight: the day after the
            # one that fires first is looked at too, then no later day can be earlier.
            if best is not None and found > best.astimezone(self.timezone).date():
                break
            fire = self._first_on(found, start)
            if fire is not None and (best is None or fire < best):
                best = fire
            day = found + timedelta(days=1)
        return None if best is None else best.astimezone(self.timezone)

    def _next_day(self, day: date) -> date | None:
        """The first local date on or after ``day`` that the day fields match."""
        start = datetime.combine(day, time(), tzinfo=UTC)
        found = [t.get_next_fire_time(None, start) for t in self._days]
        dates = [f.date() for f in found if f is not None]
        return min(dates) if dates else None

    def _first_on(self, day: date, start: datetime) -> datetime | None:
        """The first instant (UTC) at or after ``start`` (UTC) that the times of day
        fire on local date ``day``, or None.

        A time fires at the instants :meth:`_instants` gives. Only the times within
        :data:`MARGIN` of ``start`` and of the best found are tried (``* * * * *``).
        """
        wall = start.astimezone(self.timezone).replace(tzinfo=None)
        first = bisect_left(self._times, wall - MARGIN, key=lambda t: datetime.combine(day, t))
        best: datetime | None = None
        best_wall = wall
        for clock in self._times[first:]:
            naive = datetime.combine(day, clock)
            if best is not None and naive > best_wall + MARGIN:
                break
            for fire in self._instants(naive):
                if fire >= start and (best is None or fire < best):
                    best = fire
                    best_wall = fire.astimezone(self.timezone).replace(tzinfo=None)
        return best

    def _instants(self, naive: datetime) -> tuple[datetime, ...]:
        """The UTC instants a schedule fires for the local ``naive`` time: the one
        instant; in the repeated hour, the first (fixed time) or both (``*``: by
        elapsed time); in the skipped hour, the instant after the jump for a fixed
        time and none for a ``*`` schedule, whose next time comes by the new clock
        (cron(8): jobs with ``*`` run by the new time)."""
        early, late = (
            naive.replace(tzinfo=self.timezone, fold=fold).astimezone(UTC) for fold in (0, 1)
        )
        if early == late:
            return (early,)
        if early < late:  # repeated: fold 0 is the first reading
            return (early,) if self.fixed else (early, late)
        return (early,) if self.fixed else ()  # skipped: fold 0 reads after the jump

    def __str__(self) -> str:
        """``cron[0 7 * * 1-5]``, as APScheduler names a job's trigger."""
        return f"cron[{self.expression}]"

    def __repr__(self) -> str:
        """The expression and the time zone."""
        return f"<LocalDayCronTrigger ({self.expression!r}, timezone='{self.timezone}')>"


def _values(field: CronTrigger, unit: str) -> list[int]:
    """The hours of a day (``unit`` "hours") or the minutes of an hour ("minutes") at
    which ``field``, a UTC trigger on that one field, fires."""
    span = timedelta(days=1) if unit == "hours" else timedelta(hours=1)
    values: list[int] = []
    moment = field.get_next_fire_time(None, _MIDNIGHT)
    while moment is not None and moment < _MIDNIGHT + span:
        values.append(moment.hour if unit == "hours" else moment.minute)
        moment = field.get_next_fire_time(moment, moment)
    return values


@lru_cache(maxsize=128)
def cron_trigger(expression: str, timezone: Any) -> LocalDayCronTrigger:
    """The trigger of a channel's ``cron:`` schedule (5 crontab(5) fields) in ``timezone``.

    Raises ValueError for an invalid expression (config validation calls it too).
    Cached: the trigger keeps no state, and a digest round asks for it each time.
    """
    return LocalDayCronTrigger(expression, timezone)
