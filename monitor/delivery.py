"""Delivery: the order of the notify stages, as pipeline.py is for polling.

outbox (due message, or one formed from pending alerts) → digest → channel send →
mark sent / retry with backoff / dead letter / disable the channel (410).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor import metrics
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify import Notifier
from monitor.notify.retry import ChannelGone, backoff_seconds
from monitor.notify.timing import forming
from monitor.runtime import Runtime
from monitor.store.outbox import MessageState

log = logging.getLogger("monitor.pipeline")


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round of one channel did."""

    channel: str
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: bool = False


async def deliver_channel(
    rt: Runtime,
    channel: str,
    *,
    ignore_backoff: bool = False,
    form_new: bool = True,
    drain: bool = False,
) -> DeliveryReport:
    """Send the channel's due messages until none is left or one must wait.

    ``form_new`` False forms no message from non-urgent alerts (scheduled channels
    between their ticks): only retries and urgent alerts go. One new message is
    formed per round (``max_items`` leaves the rest for the next one) unless
    ``drain``; ``drain`` also skips ``group_wait``. ``ignore_backoff`` and ``drain``
    are for ``run --once``. A channel disabled by its destination sends nothing.
    """
    async with rt.channel_lock(channel):
        if rt.outbox.disabled(channel):
            return DeliveryReport(channel, disabled=True)
        return await _deliver_locked(rt, channel, ignore_backoff, form_new, drain)


async def _deliver_locked(
    rt: Runtime, channel: str, ignore_backoff: bool, form_new: bool, drain: bool
) -> DeliveryReport:
    notifier = rt.notifiers[channel]
    settings = rt.config.channels[channel]
    sent = failed = 0
    formed = False
    while True:
        now = rt.clock()
        message = rt.outbox.next_message(
            channel,
            now,
            ignore_backoff=ignore_backoff,
            form_new=drain or not formed,
            forming=forming(rt.config, channel, now, regular=form_new, drain=drain),
        )
        if message is None:
            return DeliveryReport(channel, sent=sent, failed=failed)
        formed = formed or message.attempts == 0
        deadline = (message.due_since or now) + settings.max_age
        if now >= deadline:
            error = f"not delivered within max_age ({_duration(settings.max_age)})"
            rt.outbox.mark_failed(message.id, error, now)
            log.error("channel=%s message=%s dead letter: %s", channel, message.id, error)
            metrics.delivery_failed(channel, retrying=False)
            failed += 1
            continue
        digest = rt.outbox.digest(message.id)
        send_started = metrics.now()
        try:
            answer = await _send(notifier, digest)
        except DeliveryError as exc:
            outcome = _failed_attempt(rt, channel, message, exc, now, deadline)
            if outcome != "failed":
                retrying = int(outcome == "retry")
                return DeliveryReport(
                    channel, sent, retrying, failed, disabled=outcome == "disabled"
                )
            failed += 1
            continue
        rt.outbox.mark_sent(message.id, answer, rt.clock())
        metrics.sent(channel, len(digest.stories), send_started)
        log.info(
            "channel=%s message=%s stories=%d sent: %s",
            channel,
            message.id,
            len(digest.stories),
            answer,
        )
        sent += 1


def _failed_attempt(
    rt: Runtime,
    channel: str,
    message: MessageState,
    exc: DeliveryError,
    now: datetime,
    deadline: datetime,
) -> str:
    """Record a failed attempt: ``"disabled"``, ``"retry"`` (with backoff) or ``"failed"``."""
    attempt = message.attempts + 1
    if isinstance(exc, ChannelGone):
        rt.outbox.disable(channel, str(exc), now)
        rt.outbox.mark_retry(message.id, str(exc), now)
        log.error("channel=%s disabled by its destination: %s", channel, exc)
        return "disabled"
    if exc.retryable and attempt < rt.config.channels[channel].max_attempts:
        delay = backoff_seconds(attempt, exc.retry_after)
        rt.outbox.mark_retry(message.id, str(exc), min(now + timedelta(seconds=delay), deadline))
        log.warning(
            "channel=%s message=%s attempt=%d failed, retry in %.0fs: %s",
            channel,
            message.id,
            attempt,
            delay,
            exc,
        )
        metrics.delivery_failed(channel, retrying=True)
        return "retry"
    rt.outbox.mark_failed(message.id, str(exc), now)
    log.error("channel=%s message=%s failed for good: %s", channel, message.id, exc)
    metrics.delivery_failed(channel, retrying=False)
    return "failed"


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def _send(notifier: Notifier, digest: Digest) -> str:
    """Send, turning an unexpected exception (a bug) into a retryable failure."""
    try:
        return await notifier.send(digest)
    except DeliveryError:
        raise
    except Exception as exc:
        log.exception("channel=%s unexpected error while sending", notifier.name)
        raise DeliveryError(f"internal error: {type(exc).__name__}", retryable=True) from None


async def deliver_all(rt: Runtime, *, ignore_backoff: bool = False) -> list[DeliveryReport]:
    """Deliver every channel's pending alerts (``run --once``: everything, now).

    With ``ignore_backoff`` (``run --once``) each channel is drained: ``group_wait``
    is skipped and as many messages as ``max_items`` needs are sent. Quiet hours
    still hold non-urgent alerts.
    """
    return [
        await deliver_channel(rt, name, ignore_backoff=ignore_backoff, drain=ignore_backoff)
        for name in rt.config.channels
    ]
