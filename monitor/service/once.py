"""``run --once``'s exit code: what a timer (cron, a systemd timer) sees of one pass.

The codes are documented in docs/operations.md: 0 when every feed could be polled and
every channel delivered, :data:`EXIT_UNDELIVERED` when a channel could not deliver,
:data:`EXIT_ALL_FEEDS_FAILED` when every feed's poll failed.
"""

from __future__ import annotations

import logging

from monitor.delivery import DeliveryReport
from monitor.pipeline import PollReport

log = logging.getLogger("monitor.daemon")
EXIT_UNDELIVERED = 3  # run --once: a channel could not deliver (docs/operations.md)
EXIT_ALL_FEEDS_FAILED = 4  # run --once: every feed's poll failed


def once_exit_code(polls: list[PollReport], deliveries: list[DeliveryReport]) -> int:
    """``run --once``'s exit code, logged with the pass's counts, so a timer sees failure.

    :data:`EXIT_ALL_FEEDS_FAILED` when there were feeds and every poll failed (nothing
    new can have been found); else :data:`EXIT_UNDELIVERED` when a channel could not
    deliver: a message left retrying or failed in this pass, a channel disabled by its
    destination, a message still waiting for its retry time (a timer keeps seeing the
    failure until it is delivered), or a delivery round stopped by an internal error;
    else 0.
    """
    failed_feeds = sum(1 for p in polls if not p.ok)
    undelivered = [
        d for d in deliveries if d.retrying or d.failed or d.disabled or d.error or d.waiting
    ]
    if polls and failed_feeds == len(polls):
        code = EXIT_ALL_FEEDS_FAILED
    elif undelivered:
        code = EXIT_UNDELIVERED
    else:
        code = 0
    log.log(
        logging.WARNING if code else logging.INFO,
        "once: feeds=%d failed=%d messages_sent=%d retrying=%d failed_messages=%d "
        "channels_undelivered=%s exit=%d",
        len(polls),
        failed_feeds,
        sum(d.sent for d in deliveries),
        sum(d.retrying for d in deliveries),
        sum(d.failed for d in deliveries),
        ",".join(d.channel for d in undelivered) or "-",
        code,
    )
    return code
