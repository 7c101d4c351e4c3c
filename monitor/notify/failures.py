"""What a failed send does to its message: a retry with backoff, a dead letter, or the
channel disabled (410), recorded in the outbox with one log line.

The policy itself (which errors are retryable, how long to back off) is
:mod:`monitor.notify.retry`; :mod:`monitor.delivery` decides when a send has failed and
runs these as units on the store thread (``rt.db.run``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from monitor import metrics
from monitor.config import Channel, format_duration
from monitor.errors import DeliveryError
from monitor.notify.retry import ChannelGone, backoff_seconds
from monitor.store.outbox import MessageState, Outbox
from monitor.store.sqlite import Store

log = logging.getLogger("monitor.pipeline")  # delivery's log lines, as in monitor/delivery.py


def dead_letter(store: Store, channel: str, message_id: str, reason: str, now: datetime) -> None:
    """Fail one message for good with ``reason`` at ``now`` (UTC): it stays in the outbox
    as a dead letter (listed by ``status``, queued again by ``retry``), with one log line
    and the failure counted in the metrics. A unit (store thread); raises what the store
    raises."""
    if not Outbox(store).mark_failed(message_id, reason, now):
        _finished_elsewhere(channel, message_id, reason)
        return
    log.error("channel=%s message=%s dead letter: %s", channel, message_id, reason)
    metrics.delivery_failed(channel, retrying=False)


def _finished_elsewhere(channel: str, message_id: str, error: str) -> None:
    """The log line for an outcome learnt after the message was finished (another
    instance took the channel's lease and sent it): the outcome is not recorded."""
    log.warning(
        "channel=%s message=%s was finished meanwhile (by the channel's next holder); "
        "this attempt's outcome is not recorded: %s",
        channel,
        message_id,
        error,
    )


def failed_attempt(
    store: Store,
    settings: Channel,
    channel: str,
    message: MessageState,
    exc: DeliveryError,
    now: datetime,
    once: bool = False,
) -> str:
    """Record a failed attempt: ``"disabled"``, ``"retry"`` (with backoff) or ``"failed"``.

    ``settings`` is the channel's config (``max_attempts``, ``max_age``), ``now`` the
    attempt's time (UTC). A :class:`~monitor.notify.retry.ChannelGone` disables the
    channel (the message stays queued); a retryable error is retried
    after :func:`~monitor.notify.retry.backoff_seconds` (never after the deadline);
    anything else, or the last attempt, is a :func:`dead_letter`.

    ``once`` (``run --once``): no retry happens in this process, so the log says the
    message waits for the next run rather than naming a backoff nobody waits for.

    ``max_age`` fails a message only after an attempt made at or past its deadline
    failed (retries are scheduled no later than the deadline), so a wall clock set
    forward makes a waiting message due, never a dead letter without a try. A unit
    (store thread); raises what the store raises.
    """
    attempt = message.attempts + 1
    deadline = (message.due_since or now) + settings.max_age
    outbox = Outbox(store)
    if isinstance(exc, ChannelGone):
        outbox.disable(channel, str(exc), now)
        outbox.mark_retry(message.id, str(exc), now, now)
        log.error("channel=%s disabled by its destination: %s", channel, exc)
        return "disabled"
    if exc.retryable and attempt < settings.max_attempts and now < deadline:
        delay = backoff_seconds(attempt, exc.retry_after)
        next_attempt = min(now + timedelta(seconds=delay), deadline)
        if not outbox.mark_retry(message.id, str(exc), next_attempt, now):
            _finished_elsewhere(channel, message.id, str(exc))
            return "retry"
        delay_seconds = (next_attempt - now).total_seconds()
        when = "retry at the next run" if once else f"retry in {delay_seconds:.0f}s"
        log.warning(
            "channel=%s message=%s attempt=%d failed, %s: %s",
            channel,
            message.id,
            attempt,
            when,
            exc,
        )
        metrics.delivery_failed(channel, retrying=True)
        return "retry"
    reason = str(exc)
    if exc.retryable and attempt < settings.max_attempts:
        reason = f"not delivered within max_age ({format_duration(settings.max_age)}): {exc}"
    elif exc.retryable:  # a retryable error, for the last time: say so, it reads permanent
        tries = f"{attempt} attempt{'s' if attempt != 1 else ''}"
        reason = f"not delivered after {tries} (max_attempts): {exc}"
    dead_letter(store, channel, message.id, reason, now)
    return "failed"
