"""One total deadline per delivery attempt, and the attempts in flight (for the watchdog).

A channel's ``timeout`` bounds the whole attempt: connect, send and read the answer
(for SMTP, the whole conversation), not each socket read, so a destination that
trickles one byte at a time cannot hold a channel for longer than that. A deadline
hit is a retryable :class:`DeliveryError` ("timeout: no answer from HOST within 10s").

Every attempt is registered while it runs: :func:`overrun` lists attempts that kept
going past their deadline (cancellation did not stop them) and :func:`last_started`
says when a channel last tried, so :mod:`monitor.service.health` can tell a stalled channel
from a busy one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from monitor.errors import DeliveryError

__all__ = ["Attempt", "attempt", "last_started", "overrun"]


@dataclass(frozen=True)
class Attempt:
    """A send in flight: channel, destination (host only), deadline and start (monotonic s)."""

    channel: str
    destination: str
    seconds: float
    started: float


_in_flight: dict[int, Attempt] = {}
_last_started: dict[str, float] = {}  # channel -> monotonic start of its latest attempt


@asynccontextmanager
async def attempt(channel: str, destination: str, seconds: float) -> AsyncIterator[Attempt]:
    """Run the body as one attempt of at most ``seconds`` (``asyncio.timeout``).

    Raises a retryable :class:`DeliveryError` naming ``destination`` (a host, never a
    URL) when the deadline passes; other errors pass through unchanged.
    """
    record = Attempt(channel, destination, seconds, time.monotonic())
    _in_flight[id(record)] = record
    _last_started[channel] = record.started
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            yield record
    except TimeoutError:
        if not deadline.expired():
            raise
        message = f"timeout: no answer from {destination} within {_seconds(seconds)}"
        raise DeliveryError(message, retryable=True) from None
    finally:
        _in_flight.pop(id(record), None)


def overrun(grace: float, clock: Callable[[], float] = time.monotonic) -> list[Attempt]:
    """Attempts still running ``grace`` seconds after their deadline, oldest first."""
    now = clock()
    late = [a for a in _in_flight.values() if now - a.started > a.seconds + grace]
    return sorted(late, key=lambda a: a.started)


def last_started(channel: str) -> float | None:
    """When ``channel``'s latest attempt started (``time.monotonic``), or None if never."""
    return _last_started.get(channel)


def _seconds(seconds: float) -> str:
    return f"{seconds:g}s"
