"""Config value parsing: durations, schedules, backfill, feed defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from monitor.config import MonitorConfig, format_duration, parse_duration


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("500ms", 0.5),
        (timedelta(seconds=45), 45),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "seconds,text",
    [(172800, "2d"), (5400, "90m"), (3600, "1h"), (45, "45s"), (0.5, "500ms"), (90.5, "90500ms")]
    + [(0, "0s"), (86400 + 1, "86401s")],
)
def test_durations_written_back(seconds, text):
    """Messages quote a duration as the config writes it, and it reads back the same."""
    assert format_duration(timedelta(seconds=seconds)) == text
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["5 minutes", "m", "", "-5m", "1h 30m", True, -3])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [10, 0, 1.5, "10", " 45 "])
def test_a_bare_number_is_not_a_duration(value):
    """``interval: 10`` meant 10 s silently; the docs always called it an error (#15)."""
    shown = str(value).strip()
    with pytest.raises(ValueError, match=f"^{shown} is not a duration: write {shown}s, {shown}m"):
        parse_duration(value)


def config(**channel) -> MonitorConfig:
    return MonitorConfig.model_validate(
        {"feeds": [{"url": "file:x.xml"}], "channels": {"c": {"type": "console", **channel}}}
    )


def test_schedules():
    assert config().channels["c"].schedule.kind == "immediate"
    every = config(schedule="every: 15m").channels["c"].schedule
    assert every.kind == "every" and every.every == timedelta(minutes=15)
    cron = config(schedule={"cron": "0 7,12 * * *"}, timezone="Asia/Seoul").channels["c"]
    assert cron.schedule.cron == "0 7,12 * * *" and cron.timezone == "Asia/Seoul"
    for bad in ("hourly", "every: soon", "cron: 0 25 * * *"):
        with pytest.raises(ValidationError):
            config(schedule=bad)
    with pytest.raises(ValidationError, match="unknown time zone"):
        config(timezone="Mars/Olympus")


def test_feed_defaults_and_backfill():
    cfg = MonitorConfig.model_validate(
        {
            "defaults": {"interval": "5m", "backfill": "2d"},
            "feeds": [
                {"url": "https://a.example/rss"},
                {"url": "file:b.xml", "interval": "1h", "backfill": "all"},
            ],
        }
    )
    a, b = cfg.feeds
    assert cfg.feed_interval(a) == timedelta(minutes=5) and cfg.feed_interval(b) == timedelta(
        hours=1
    )
    assert cfg.feed_backfill(a) == timedelta(days=2) and cfg.feed_backfill(b) == "all"
    assert a.display_name == "https://a.example/rss"


def test_email_addresses_cannot_inject_headers():
    with pytest.raises(ValidationError, match="invalid email address"):
        MonitorConfig.model_validate(
            {
                "channels": {
                    "m": {
                        "type": "email",
                        "smtp": {"host": "h"},
                        "from": "a@b.c\r\nBcc: evil@x.y",
                        "to": ["x@y.z"],
                    }
                }
            }
        )


def test_secrets_are_hidden_in_repr():
    cfg = MonitorConfig.model_validate(
        {"channels": {"s": {"type": "slack", "webhook_url": "https://hooks.slack.com/T/B/secret"}}}
    )
    assert "secret" not in repr(cfg) and "secret" not in str(cfg.model_dump())


@pytest.mark.parametrize("value", ["9999999999d", "3000000d", "1000000000000s", "36601d"])
def test_durations_longer_than_a_century_are_refused(value):
    """``now - retention`` overflowed datetime for retention: 3000000d (issue #14)."""
    with pytest.raises(ValueError, match="longer than 100 years"):
        parse_duration(value)


def test_a_huge_retention_is_a_config_error_not_an_overflow():
    with pytest.raises(ValidationError, match="longer than 100 years"):
        MonitorConfig.model_validate({"dedup": {"retention": "3000000d"}})


@pytest.mark.parametrize(
    "written", ["every: 1h", "every: 90m", "every: 45s", "immediate", "cron: 0 7 * * *"]
)
def test_a_schedule_is_shown_as_written(written):
    """``status`` (text and JSON) shows a channel's schedule as the config writes it."""
    from monitor.config.channels import Schedule, _parse_schedule

    assert str(Schedule.model_validate(_parse_schedule(written))) == written
