"""A loop that fails each round logs one ERROR per outage, a reminder a minute, and
one line when it works again (scale-out trial: ~2.5 ERROR lines a second per
instance while PostgreSQL was down)."""

from __future__ import annotations

import logging

from monitor.service.streaks import FailureStreak


def lines(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records]


def test_an_outage_is_one_error_a_reminder_a_minute_and_one_recovery_line(caplog):
    now = [100.0]
    streak = FailureStreak(logging.getLogger("t.streak"), "claiming feeds", clock=lambda: now[0])
    caplog.set_level(logging.DEBUG, logger="t.streak")
    for _ in range(150):  # one round a second for two and a half minutes
        streak.failed(ConnectionError("server closed the connection"))
        now[0] += 1.0
    streak.succeeded()
    streak.succeeded()  # a working loop says nothing more
    errors = [m for level, m in lines(caplog) if level == "ERROR"]
    assert errors == [
        "claiming feeds failed: ConnectionError: server closed the connection",
        "claiming feeds still failing (61 times in 60s): ConnectionError: server closed"
        " the connection",
        "claiming feeds still failing (121 times in 120s): ConnectionError: server closed"
        " the connection",
    ]
    infos = [m for level, m in lines(caplog) if level == "INFO"]
    assert infos == ["claiming feeds works again after 150 failures in 150s"]
    assert sum(level == "DEBUG" for level, _ in lines(caplog)) == 147


def test_a_new_outage_is_told_again_and_a_text_reason_is_kept(caplog):
    now = [0.0]
    streak = FailureStreak(logging.getLogger("t.streak2"), "heartbeat", clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="t.streak2")
    streak.failed("database away")
    streak.succeeded()
    now[0] += 5
    streak.failed("database away")
    assert lines(caplog) == [
        ("ERROR", "heartbeat failed: database away"),
        ("INFO", "heartbeat works again after 1 failure in 0s"),
        ("ERROR", "heartbeat failed: database away"),
    ]
