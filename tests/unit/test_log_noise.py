"""APScheduler's "skipped: maximum number of running instances reached" warning is
shown only at debug level (hostile-feed trial: one a second behind a slow send);
its other warnings are kept. A job cancelled by the daemon's stop is one INFO line,
not an ERROR with a traceback (delivery-edge trial). Run in a fresh interpreter:
logging is process-wide."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
import logging, sys
from monitor.logs import setup_logging
setup_logging(sys.argv[1])
setup_logging(sys.argv[1])  # set up twice (a reload): still one filter
scheduler = logging.getLogger("apscheduler.scheduler")
assert len(scheduler.filters) == 1
scheduler.warning('Execution of job "retry hook" skipped: maximum number of running'
                  ' instances reached (1)')
scheduler.warning("Run time of job 'poll x' was missed by 0:00:07")
"""


def emitted(level: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, level],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO)},
        check=True,
    )
    return done.stderr.splitlines()


def test_skipped_runs_are_quiet_unless_debug_and_other_warnings_stay():
    (line,) = emitted("info")
    assert " WARNING apscheduler.scheduler: Run time of job 'poll x' was missed" in line
    skipped, missed = emitted("debug")
    assert ' DEBUG apscheduler.scheduler: Execution of job "retry hook" skipped' in skipped
    assert " WARNING " in missed


CANCELLED = """
import asyncio, logging
from monitor.logs import setup_logging
setup_logging("info")
executor = logging.getLogger("apscheduler.executors.default")
try:
    raise asyncio.CancelledError
except asyncio.CancelledError:
    executor.exception('Job "retry out (trigger: interval[0:00:30])" raised an exception')
try:
    raise ValueError("a real bug")
except ValueError:
    executor.exception('Job "digest out" raised an exception')
"""


def test_a_job_cancelled_by_the_stop_is_one_info_line_and_other_errors_stay():
    done = subprocess.run(
        [sys.executable, "-c", CANCELLED],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO)},
        check=True,
    )
    cancelled, bug = [line for line in done.stderr.splitlines() if "Job " in line]
    assert ' INFO apscheduler.executors.default: Job "retry out' in cancelled
    assert "cancelled by the daemon's stop" in cancelled
    assert " ERROR " in bug and "ValueError: a real bug" in done.stderr
    assert "CancelledError" not in done.stderr
