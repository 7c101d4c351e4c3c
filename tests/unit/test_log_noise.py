"""APScheduler's "skipped: maximum number of running instances reached" warning is
shown only at debug level (hostile-feed trial: one a second behind a slow send);
its other warnings are kept. Run in a fresh interpreter: logging is process-wide."""

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
