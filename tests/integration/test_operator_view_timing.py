"""Quiet hours as ``status`` and ``history`` show them (operator review): when the
window that holds a channel ends, from :func:`monitor.notify.timing.held`, the rule
delivery follows. Pure functions of the config and a given ``now``: no clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.config import MonitorConfig, QuietHours
from monitor.notify.timing import forming, held, quiet_until


@pytest.mark.parametrize(
    ("start", "end", "now", "until"),
    [
        ("22:00", "07:00", datetime(2026, 11, 27, 14, 0), datetime(2026, 11, 27, 22, 0)),
        ("22:00", "07:00", datetime(2026, 11, 27, 20, 30), datetime(2026, 11, 27, 22, 0)),
        ("00:00", "23:59", datetime(2026, 11, 27, 5, 0), datetime(2026, 11, 27, 14, 59)),
        ("22:00", "07:00", datetime(2026, 11, 27, 22, 0), None),  # 07:00 in Seoul: over
        ("09:00", "09:00", datetime(2026, 11, 27, 0, 0), None),  # equal: no quiet hours
    ],
)
def test_quiet_until_is_the_windows_end_in_the_channels_zone(start, end, now, until):
    quiet = QuietHours(start=start, end=end)
    expected = until and until.replace(tzinfo=UTC)
    assert quiet_until(quiet, "Asia/Seoul", now.replace(tzinfo=UTC)) == expected


def test_held_names_the_urgent_rules_and_forming_follows_it():
    config = MonitorConfig.model_validate(
        {
            "rules": [
                {"name": "flash", "query": "Flash", "notify": ["out"], "urgent": True},
                {"name": "calm", "query": "Calm", "notify": ["out"]},
            ],
            "channels": {
                "out": {
                    "type": "console",
                    "timezone": "Asia/Seoul",
                    "quiet_hours": {"start": "22:00", "end": "07:00"},
                }
            },
        }
    )
    night = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    hold = held(config, "out", night)
    assert hold is not None and hold.urgent_rules == {"flash"}
    assert hold.until == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    assert hold.local_until() == "07:00 (Asia/Seoul)"
    assert forming(config, "out", night, regular=True, drain=False).regular is False
    morning = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    assert held(config, "out", morning) is None
    assert forming(config, "out", morning, regular=True, drain=False).regular is True


@pytest.mark.parametrize(
    ("zone", "start", "end", "now", "until"),
    [
        # New York falls back at 06:00 UTC on 1 Nov 2026: 01:30 is read twice
        (
            "America/New_York",
            "22:00",
            "01:30",
            datetime(2026, 11, 1, 5, 20),
            datetime(2026, 11, 1, 5, 30),
        ),
        (
            "America/New_York",
            "22:00",
            "01:30",
            datetime(2026, 11, 1, 6, 20),
            datetime(2026, 11, 1, 6, 30),
        ),
        # Berlin springs forward at 01:00 UTC, 29 Mar 2026: 02:30 is never read
        (
            "Europe/Berlin",
            "01:00",
            "02:30",
            datetime(2026, 3, 29, 0, 10),
            datetime(2026, 3, 29, 1, 0),
        ),  # Santiago springs forward at midnight (04:00 UTC, 6 Sep 2026: 00:00 -04 is 01:00
        # -03): a window ending at 00:00 ends at the jump, from before 23:00 and after
        *(
            ("America/Santiago", "21:00", "00:00", now, datetime(2026, 9, 6, 4, 0))
            for now in (
                datetime(2026, 9, 6, 1, 30),
                datetime(2026, 9, 6, 3, 15),
                datetime(2026, 9, 6, 3, 59),
            )
        ),
        # Cairo springs forward at midnight too (22:00 UTC, 23 Apr 2026)
        (
            "Africa/Cairo",
            "22:30",
            "00:00",
            datetime(2026, 4, 23, 21, 0),
            datetime(2026, 4, 23, 22, 0),
        ),
    ],
)
def test_quiet_until_on_the_nights_clocks_change(zone, start, end, now, until):
    """The window ends when the wall clock reads its end again, or jumps past it; never
    at a time already past (in_quiet_hours reads the wall clock)."""
    quiet = QuietHours(start=start, end=end)
    assert quiet_until(quiet, zone, now.replace(tzinfo=UTC)) == until.replace(tzinfo=UTC)
