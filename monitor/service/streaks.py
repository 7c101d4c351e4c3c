"""One log line per outage, not one per retry: a loop that fails the same way each round.

The daemon's loops (the claim round every second, the channel keeper and lease
checks, the heartbeat) retry by themselves, so while the database is away each of
them failed once a round: ~2.5 ERROR lines a second per instance during a
PostgreSQL outage (scale-out trial), which buries the one line that says what
happened. :class:`FailureStreak` logs the first failure at ERROR, a reminder with the
count every :data:`REMIND_SECONDS` while it lasts (each other failure at DEBUG), and
one INFO line when the loop works again, with how long it failed: what an operator
reading the journal needs, as Prometheus's and Alertmanager's "resolved" do.

    streak = FailureStreak(log, "claiming feeds")
    with streak.watch():  # an exception is noted (and goes no further), else a success
        await claim_round()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["REMIND_SECONDS", "FailureStreak"]

REMIND_SECONDS = 60.0  # while a failure lasts, one ERROR line this often (seconds)


class FailureStreak:
    """The failures of one recurring step, logged once per streak (module docstring).

    ``what`` names the step in the lines (``claiming feeds``, ``channel=x lease
    check``); ``clock`` gives monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        remind: float = REMIND_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = logger
        self.what = what
        self.remind = remind
        self.clock = clock
        self.count = 0  # failures in the current streak (0: it works)
        self._started = 0.0
        self._told = 0.0

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Run one round of the step: an ``Exception`` it raises is :meth:`failed`
        (and stops there: the loop tries again next round), else :meth:`succeeded`."""
        try:
            yield
        except Exception as exc:
            self.failed(exc)
        else:
            self.succeeded()

    def failed(self, exc: BaseException | str) -> None:
        """Note one failure: ERROR for the first of a streak and then every ``remind``
        seconds (with the count so far), DEBUG otherwise."""
        reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        now = self.clock()
        self.count += 1
        if self.count == 1:
            self._started = self._told = now
            self.log.error("%s failed: %s", self.what, reason)
        elif now - self._told >= self.remind:
            self._told = now
            self.log.error(
                "%s still failing (%d times in %ds): %s",
                self.what,
                self.count,
                now - self._started,
                reason,
            )
        else:
            self.log.debug("%s failed again: %s", self.what, reason)

    def succeeded(self) -> None:
        """Note a success: after a streak, one INFO line saying how long it failed."""
        if self.count:
            took = self.clock() - self._started
            failures = f"{self.count} failure" + ("s" if self.count != 1 else "")
            self.log.info("%s works again after %s in %ds", self.what, failures, took)
            self.count = 0
