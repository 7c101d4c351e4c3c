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


# Clocks that jump forward at midnight: the day's midnight (or 00:30) does not exist.
MIDNIGHT_JUMPS = [
    ("America/Santiago", "2026-09-06", "0 0 * * *"),
    ("Africa/Cairo", "2026-04-24", "0 0 * * *"),
    ("Asia/Beirut", "2026-03-29", "30 0 * * *"),
    ("America/Havana", "2026-03-08", "0 0 * * *"),
]


@pytest.mark.parametrize(("zone", "day", "expression"), MIDNIGHT_JUMPS)
def test_a_time_skipped_at_midnight_fires_that_day_at_the_jump(zone, day, expression):
    # APScheduler alone skipped the whole day (Santiago: 09-05 00:00 -04, 09-07 00:00 -03).
    fires = walk(expression, zone, around(day, zone), days=7)
    per_day = local_days(fires, zone)
    assert len(per_day) == 7 and set(per_day.values()) == {1}, fires
    the_night = [f for f in fires if f.astimezone(ZoneInfo(zone)).date().isoformat() == day]
    local = the_night[0].astimezone(ZoneInfo(zone))
    minute = int(expression.split()[0])
    assert (local.hour, local.minute) == (1, minute)  # an hour later by the new clock


@pytest.mark.parametrize(
    ("zone", "day", "expression"),
    [
        ("America/New_York", "2026-11-01", "0,30 1 * * *"),
        ("Europe/London", "2026-10-25", "15,45 1 * * *"),
    ],
)
def test_each_fixed_time_of_the_repeated_hour_fires_at_its_first_occurrence(zone, day, expression):
    # APScheduler alone (and the trigger that compared only with the previous fire)
    # ran 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST.
    fires = walk(expression, zone, around(day, zone), days=7)
    assert set(local_days(fires, zone).values()) == {2}, fires
    the_night = [
        f.astimezone(ZoneInfo(zone))
        for f in fires
        if f.astimezone(ZoneInfo(zone)).date().isoformat() == day
    ]
    minutes = sorted(int(m) for m in expression.split()[0].split(","))
    assert [(t.hour, t.minute, t.fold) for t in the_night] == [(1, m, 0) for m in minutes]


@pytest.mark.parametrize(("zone", "day"), FALL_BACK)
def test_a_wildcard_hour_with_several_minutes_runs_in_both_copies(zone, day):
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    fires = walk("0,30 * * * *", zone, start, days=1)
    assert len(fires) == 50
    assert all(b - a == timedelta(minutes=30) for a, b in zip(fires, fires[1:], strict=False))


def test_the_fire_time_is_a_real_local_time():
    # 02:30 on 2026-03-08 does not exist in New York: the trigger says 03:30 EDT
    # (07:30Z), which status shows; not "02:30 EST".
    zone = ZoneInfo("America/New_York")
    trigger = cron_trigger("30 2 * * *", zone)
    fire = trigger.get_next_fire_time(None, datetime(2026, 3, 7, 12, tzinfo=zone))
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert f"{fire:%Y-%m-%d %H:%M %Z}" == "2026-03-08 03:30 EDT"


def test_star_schedules_skip_the_skipped_hour_and_fire_nowhere_else():
    # cron(8): a job with * in its minute or hour field runs by the new clock; a time
    # the clock skips is not run, and never before the jump (review: 0 */2 fired at
    # 01:00 EST and 03:00 EDT, times not in the schedule).
    new_york = ZoneInfo("America/New_York")
    fires = walk("0 */2 * * *", "America/New_York", around("2026-03-08", "America/New_York"), 6)
    local = [f.astimezone(new_york) for f in fires]
    assert all(t.hour % 2 == 0 and t.minute == 0 for t in local), local
    the_day = [t.hour for t in local if t.date().isoformat() == "2026-03-08"]
    assert the_day == [0, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]  # 02:00 never was
    santiago = ZoneInfo("America/Santiago")  # 00:00 -04 jumps to 01:00 -03, 6 Sep 2026
    fires = walk("*/20 0 * * *", "America/Santiago", around("2026-09-06", "America/Santiago"), 6)
    local = [f.astimezone(santiago) for f in fires]
    assert all(t.hour == 0 and t.minute in (0, 20, 40) for t in local), local
    assert local_days(fires, "America/Santiago")["2026-09-06"] == 0  # hour 0 skipped
