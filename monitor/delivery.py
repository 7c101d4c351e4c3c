"""Delivery: the order of the notify stages, as pipeline.py is for polling.

outbox (due message, or one formed from pending alerts) → digest → channel send →
mark sent / retry with backoff / dead letter / disable the channel (410); what a failed
send does to its message is :mod:`monitor.notify.failures`.

A channel that sends a message in parts (Slack) stores each accepted part as it goes
(:meth:`Outbox.record_parts`), and a resend, in this process or another, starts at
the first part not accepted. With several instances a scheduled channel's rounds
carry its stored digest tick (:class:`~monitor.store.outbox.DigestTick`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from monitor import metrics
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify import Notifier
from monitor.notify.failures import dead_letter, failed_attempt
from monitor.notify.limits import TooBig, fitting_count, measure_for, shortened
from monitor.notify.retry import PayloadTooLarge
from monitor.notify.timing import Forming, forming
from monitor.notify.views import one_line
from monitor.runtime import Runtime
from monitor.store.deadletters import PRUNED
from monitor.store.outbox import DigestTick, MessageState, Outbox
from monitor.store.sqlite import Store

log = logging.getLogger("monitor.pipeline")


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery round of one channel did (``error``: it stopped on a bug)."""

    channel: str
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: bool = False
    error: str | None = None
    waiting: bool = False  # a message left waiting for its retry time (run --once)
    # Regular (non-urgent) alerts could form a message in this round: one was formed,
    # or none waited. A digest tick's work done (service/jobs.py pays an owed tick).
    regular_formed: bool = False


async def deliver_channel(
    rt: Runtime,
    channel: str,
    *,
    ignore_backoff: bool = False,
    form_new: bool = True,
    drain: bool = False,
    tick: DigestTick | None = None,
) -> DeliveryReport:
    """Send the channel's due messages until none is left or one must wait.

    ``form_new`` False forms no message from non-urgent alerts (scheduled channels
    between their ticks): only retries and urgent alerts go. ``tick`` (several
    instances, a scheduled channel) replaces ``form_new``: non-urgent alerts go when
    the stored tick is due, taken in the transaction that forms the message. One new
    message is formed per round (``max_items`` leaves the rest for the next one) unless
    ``drain``; ``drain`` also skips ``group_wait``. ``ignore_backoff`` and ``drain``
    are for ``run --once``. A channel disabled by its destination sends nothing.
    An unexpected exception (a bug) ends this channel's round with one log line and
    is not raised: the other channels, and the next sweep, carry on.
    """
    async with rt.channel_lock(channel):
        try:
            if await rt.db.run(lambda store: Outbox(store).disabled(channel)):
                return DeliveryReport(channel, disabled=True)
            return await _deliver_locked(rt, channel, ignore_backoff, form_new, drain, tick)
        except Exception as exc:
            error = f"internal error: {type(exc).__name__}: {one_line(str(exc), 200)}"
            log.error("channel=%s delivery round stopped by an %s", channel, error)
            return DeliveryReport(channel, error=error)


async def _deliver_locked(
    rt: Runtime,
    channel: str,
    ignore_backoff: bool,
    form_new: bool,
    drain: bool,
    tick: DigestTick | None = None,
) -> DeliveryReport:
    notifier = rt.notifiers[channel]
    sent = failed = 0
    formed = regular = False
    while True:
        now = rt.clock()
        shape = forming(rt.config, channel, now, regular=form_new or bool(tick), drain=drain)
        flags = (ignore_backoff, drain or not formed, shape, tick)
        message, digest, regular_now = await rt.db.run(_next, rt, channel, now, *flags)
        regular = regular or regular_now
        if message is None:
            waiting = drain and await rt.db.run(lambda st: Outbox(st).waiting(channel))
            return DeliveryReport(
                channel, sent=sent, failed=failed, waiting=waiting, regular_formed=regular
            )
        formed = formed or message.attempts == 0
        if isinstance(digest, str):
            await rt.db.run(dead_letter, channel, message.id, digest, now)
            failed += 1
            continue
        send_started = metrics.now()
        try:
            answer = await _send(notifier, digest, rt, message.id)
        except PayloadTooLarge as exc:
            if not await rt.db.run(_split, rt, channel, message.id, digest, exc):
                reason = f"{exc} (refused as too large, not split further)"
                await rt.db.run(dead_letter, channel, message.id, reason, now)
                failed += 1
            continue
        except DeliveryError as exc:
            settings, once = rt.config.channels[channel], drain
            outcome = await rt.db.run(failed_attempt, settings, channel, message, exc, now, once)
            if outcome != "failed":
                retrying = int(outcome == "retry")
                return DeliveryReport(
                    channel,
                    sent,
                    retrying,
                    failed,
                    disabled=outcome == "disabled",
                    regular_formed=regular,
                )
            failed += 1
            continue
        sent_at = rt.clock()
        if not await rt.db.run(_mark_sent, message.id, answer, sent_at):
            log.warning(
                "channel=%s message=%s accepted (%s), but it was finished meanwhile by the "
                "channel's next holder: not recorded again",
                channel,
                message.id,
                answer,
            )
            continue
        metrics.sent(channel, len(digest.stories), send_started)
        log.info(
            "channel=%s message=%s stories=%d sent: %s",
            channel,
            message.id,
            len(digest.stories),
            answer,
        )
        sent += 1


def _mark_sent(store: Store, message_id: str, answer: str, at: datetime) -> bool:
    return Outbox(store).mark_sent(message_id, answer, at)


def _parts_sent(store: Store, message_id: str) -> int:
    return Outbox(store).parts_sent(message_id)


def _record_parts(store: Store, message_id: str, parts: int) -> None:
    # Slack's parts, one at a time as accepted: a short write waited for in place
    Outbox(store).record_parts(message_id, parts)


def _next(
    store: Store,
    rt: Runtime,
    channel: str,
    now: datetime,
    ignore_backoff: bool,
    form_new: bool,
    shape: Forming,
    tick: DigestTick | None,
) -> tuple[MessageState | None, Digest | str | None, bool]:
    """A unit (store thread): the channel's next message (formed, if due, in its own
    transaction), its digest (:func:`_prepared`) and whether regular alerts could form
    it (:attr:`Outbox.regular_formed`); (None, None, …) when nothing is due."""
    outbox = Outbox(store)
    message = outbox.next_message(
        channel, now, ignore_backoff=ignore_backoff, form_new=form_new, forming=shape, tick=tick
    )
    if message is None:
        return None, None, outbox.regular_formed
    return message, _prepared(outbox, rt, channel, message.id), outbox.regular_formed


def _prepared(outbox: Outbox, rt: Runtime, channel: str, message_id: str) -> Digest | str:
    """The message's digest, shaped to the channel's bounds; a reason to fail it instead.

    Stories past ``max_items`` or ``max_message_bytes`` (a message re-queued by
    ``retry`` after the bounds changed) are released to the next message; one story
    too big alone is shortened (:mod:`monitor.notify.limits`).
    """
    settings = rt.config.channels[channel]
    try:
        digest = outbox.digest(message_id)
        if not digest.stories:
            return PRUNED
        if getattr(digest, "pruned", 0):
            log.warning(
                "channel=%s message=%s: %d of its stories were pruned, sending the other %d",
                channel,
                message_id,
                digest.pruned,
                len(digest.stories),
            )
        limit = settings.max_message_bytes
        measure = measure_for(settings, rt.renderer) if limit else None
        keep = fitting_count(digest, settings, measure)
        if keep < len(digest.stories):
            outbox.release(message_id, list(digest.story_ids[keep:]))
            log.info(
                "channel=%s message=%s: %d stories fit max_items/max_message_bytes, "
                "%d wait for the next message",
                channel,
                message_id,
                keep,
                len(digest.stories) - keep,
            )
            digest = outbox.digest(message_id)
        return shortened(digest, measure, limit) if limit and measure else digest
    except TooBig as exc:
        return str(exc)
    except Exception as exc:  # a bug or damaged state: this message fails, not the channel
        return f"cannot build the message: {type(exc).__name__}: {one_line(str(exc), 200)}"


def _split(
    store: Store, rt: Runtime, channel: str, message_id: str, digest: Digest, exc: DeliveryError
) -> bool:
    """HTTP 413: keep the first half of the stories, the rest go in a message of their
    own, as old as this one and sent right after it (:meth:`Outbox.split_off`).

    Returns False when the message holds one story (nothing left to split), or for
    Slack: its posts are within Slack's limits already, and a digest whose posts
    change under the same id would break the notifier's resume-at-the-failed-post.
    The refused attempt is not counted: the smaller message is sent at once. A unit.
    """
    count = len(digest.stories)
    if count <= 1 or rt.config.channels[channel].type == "slack":
        return False
    keep = count // 2
    rest = Outbox(store).split_off(message_id, list(digest.story_ids[keep:]), rt.clock())
    log.warning(
        "channel=%s message=%s too large for the destination (%s): split, %d of %d "
        "stories kept, the rest go in message %s",
        channel,
        message_id,
        exc,
        keep,
        count,
        rest,
    )
    return True


async def _send(notifier: Notifier, digest: Digest, rt: Runtime, message_id: str) -> str:
    """Send, turning an unexpected exception (a bug) into a retryable failure.

    A notifier that sends in parts (``send_resuming``: Slack) starts after the parts
    stored as accepted and stores each one it gets accepted.
    """
    try:
        resuming = getattr(notifier, "send_resuming", None)
        if resuming is not None:
            accepted = await rt.db.run(_parts_sent, message_id)
            return await resuming(
                digest,
                accepted,
                lambda parts: rt.db.run(_record_parts, message_id, parts),
            )
        return await notifier.send(digest)
    except DeliveryError:
        raise
    except Exception as exc:
        log.exception("channel=%s unexpected error while sending", notifier.name)
        raise DeliveryError(f"internal error: {type(exc).__name__}", retryable=True) from None


async def deliver_all(
    rt: Runtime, *, drain: bool = False, ignore_backoff: bool = False
) -> list[DeliveryReport]:
    """Deliver every channel's pending alerts (``run --once``: everything due, now).

    With ``drain`` (``run --once``) each channel is drained: ``group_wait`` is skipped
    and as many messages as ``max_items`` needs are sent. A message waiting for its
    retry is tried only once its backoff (never shorter than the destination's
    ``Retry-After``) has passed, unless ``ignore_backoff``: a timer running ``run
    --once`` every few minutes must neither spend ``max_attempts`` in minutes nor
    ignore what the destination asked. Quiet hours still hold non-urgent alerts.
    """
    return [
        await deliver_channel(rt, name, ignore_backoff=ignore_backoff, drain=drain)
        for name in rt.config.channels
    ]
