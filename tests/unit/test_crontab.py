"""A ``cron:`` schedule read as crontab(5): day-of-week numbers and the OR of day of
month and day of week (monitor/config/crontab.py).

APScheduler 3's ``CronTrigger.from_crontab`` counts day 0 as Monday (its issue #286)
and ANDs a restricted day of month with a restricted day of week; crontab(5) counts 0
and 7 as Sunday and runs the job when either matches. The trigger is walked as the
scheduler asks it (previous fire time and "now" both the last fire): no sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from monitor.config import MonitorConfig
from monitor.config.crontab import cron_trigger, crontab_weekdays
from monitor.service.jobs import digest_tick

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; 2026-03-01 is a Sunday


def fire_days(expression: str, start: datetime = MONDAY, days: int = 14) -> list[str]:
    """``Mon 03-02``-style local days of every fire in ``days`` days from ``start``."""
    trigger = cron_trigger(expression, "UTC")
    fires: list[str] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < start + timedelta(days=days):
        fires.append(f"{fire:%a %m-%d}")
        fire = trigger.get_next_fire_time(fire, fire)
    return fires


def weekdays(expression: str) -> list[str]:
    """The weekday names a week of fires falls on, in order from Monday."""
    return [day.split()[0] for day in fire_days(expression, days=7)]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("sun", ["Sun"]),
        ("1", ["Mon"]),
        ("6", ["Sat"]),
        ("0,6", ["Sat", "Sun"]),
        ("5-7", ["Fri", "Sat", "Sun"]),
        ("*/2", ["Tue", "Thu", "Sat", "Sun"]),  # * is 0-7: 0, 2, 4, 6
        ("1-5/2", ["Mon", "Wed", "Fri"]),
        ("1,sat", ["Mon", "Sat"]),
        ("*", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
    ],
)
def test_day_of_week_numbers_count_from_sunday_as_crontab(field, expected):
    assert weekdays(f"0 7 * * {field}") == expected


@pytest.mark.parametrize("field", ["8", "5-2", "*/0", "1-9"])
def test_a_day_of_week_out_of_0_to_7_is_refused(field):
    with pytest.raises(ValueError, match="0 or 7 is Sunday"):
        crontab_weekdays(field)


def test_config_accepts_7_for_sunday_and_refuses_8():
    def channel(schedule: str) -> MonitorConfig:
        return MonitorConfig.model_validate(
            {"channels": {"c": {"type": "console", "schedule": schedule}}}
        )

    assert channel("cron: 0 7 * * 7").channels["c"].schedule.cron == "0 7 * * 7"
    with pytest.raises(ValidationError, match="invalid cron expression '0 7 \\* \\* 8'"):
        channel("cron: 0 7 * * 8")


def test_restricted_day_of_month_and_day_of_week_fire_on_either():
    # crontab(5): "the 1st of the month and every Monday"; APScheduler ANDed them.
    march = datetime(2026, 3, 1, tzinfo=UTC)
    assert fire_days("0 7 1 * 1", march, days=35) == [
        "Sun 03-01",
        "Mon 03-02",
        "Mon 03-09",
        "Mon 03-16",
        "Mon 03-23",
        "Mon 03-30",
        "Wed 04-01",
    ]
    # The 13th and every Friday: each day once, 2026-02-13 being both.
    february = datetime(2026, 2, 1, tzinfo=UTC)
    assert fire_days("0 7 13 * fri", february, days=28) == [
        "Fri 02-06",
        "Fri 02-13",
        "Fri 02-20",
        "Fri 02-27",
    ]


def test_a_day_field_starting_with_a_star_still_ands():
    # cron(8) ORs only when neither field starts with '*': */2 is a star field.
    june = datetime(2026, 6, 1, tzinfo=UTC)  # the 7th is a Sunday, the 9th a Tuesday
    assert fire_days("0 7 7-9 * */2", june, days=30) == ["Sun 06-07", "Tue 06-09"]
    assert fire_days("0 7 */10 * 1", june, days=30) == ["Mon 06-01"]


def test_the_stored_tick_of_several_instances_reads_days_as_crontab():
    config = MonitorConfig.model_validate(
        {"channels": {"c": {"type": "console", "schedule": "cron: 0 9 * * 0"}}}
    )
    tick = digest_tick(config, "c")
    assert tick is not None
    first = tick.following(None, MONDAY)
    assert first == datetime(2026, 3, 8, 9, tzinfo=UTC)  # Sunday, not Monday the 2nd
    assert tick.following(first, first) == datetime(2026, 3, 15, 9, tzinfo=UTC)
