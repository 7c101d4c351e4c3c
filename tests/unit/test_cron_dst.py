"""A channel's ``cron:`` schedule walked through the 2026 daylight-saving changes.

The trigger is asked for its next fire time again and again, as the scheduler does
(previous fire time and "now" both the last fire), from a few days before each change
to a few days after: no sleeping, no scheduler. Vixie cron is the reference: a job at
a fixed time runs once per local day; on the night clocks go back a job in the
repeated hour runs once, and on the night they go forward a job in the skipped hour
runs once, an hour later by the new clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.service.scheduling import cron_trigger

# (zone, first local day of the walk, the day of the change)
FALL_BACK = [("America/New_York", "2026-11-01"), ("Europe/London", "2026-10-25")]
SPRING_FORWARD = [("America/New_York", "2026-03-08"), ("Europe/London", "2026-03-29")]


def walk(expression: str, zone: str, start: datetime, days: int) -> list[datetime]:
    """Every fire time in the ``days`` days from ``start`` (aware, in UTC)."""
    trigger = cron_trigger(expression, zone)
    end = start + timedelta(days=days)
    fires: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        fires.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire)
    return fires


def local_days(fires: list[datetime], zone: str) -> Counter[str]:
    return Counter(f.astimezone(ZoneInfo(zone)).date().isoformat() for f in fires)


def around(day: str, zone: str) -> datetime:
    """Local midnight three days before ``day``."""
    return datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone)) - timedelta(days=3)


@pytest.mark.parametrize(("zone", "day"), FALL_BACK)
def test_fixed_time_in_the_repeated_hour_fires_once_per_local_day(zone, day):
    fires = walk("30 1 * * *", zone, around(day, zone), days=7)
    per_day = local_days(fires, zone)
    assert len(per_day) == 7 and set(per_day.values()) == {1}, fires
    the_night = [f for f in fires if f.astimezone(ZoneInfo(zone)).date().isoformat() == day]
    local = the_night[0].astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute, local.fold) == (1, 30, 0)  # the first 01:30


@pytest.mark.parametrize(("zone", "day"), SPRING_FORWARD)
def test_fixed_time_in_the_skipped_hour_fires_once_an_hour_later(zone, day):
    skipped = {"America/New_York": "30 2 * * *", "Europe/London": "30 1 * * *"}[zone]
    fires = walk(skipped, zone, around(day, zone), days=7)
    per_day = local_days(fires, zone)
    assert len(per_day) == 7 and set(per_day.values()) == {1}, fires
    the_night = [f for f in fires if f.astimezone(ZoneInfo(zone)).date().isoformat() == day]
    local = the_night[0].astimezone(ZoneInfo(zone))
    hour = int(skipped.split()[1])
    assert (local.hour, local.minute) == (hour + 1, 30)


@pytest.mark.parametrize(("zone", "day"), FALL_BACK + SPRING_FORWARD)
def test_a_digest_outside_the_changed_hour_keeps_its_local_time(zone, day):
    fires = walk("0 7 * * *", zone, around(day, zone), days=7)
    local = [f.astimezone(ZoneInfo(zone)) for f in fires]
    assert len(local) == 7 and {(t.hour, t.minute) for t in local} == {(7, 0)}


@pytest.mark.parametrize(("zone", "day"), FALL_BACK)
def test_a_wildcard_hour_runs_by_the_new_clock_as_vixie_cron_does(zone, day):
    # cron(8): jobs with '*' in the hour or minute field are not held back in the
    # repeated hour; an hourly job fires 25 times on a 25-hour day.
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    fires = walk("0 * * * *", zone, start, days=1)
    assert len(fires) == 25
    assert all(b - a == timedelta(hours=1) for a, b in zip(fires, fires[1:], strict=False))
