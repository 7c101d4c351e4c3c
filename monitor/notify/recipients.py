"""Which recipients of an email message still need it, across attempts.

An SMTP server answers each ``RCPT TO`` on its own (RFC 5321, section 4.2): a mail
can be accepted for some recipients and refused for others, permanently (5xx) or for
now (4xx, e.g. greylisting or a full mailbox). Sending the whole mail again would
duplicate it for those who have it; not sending it again would lose it for those
refused for now. So the message keeps which recipients are done, accepted or refused
for good, and a retry goes to the others only, under the same ``Message-ID``.

The set is kept in the message's ``parts_sent`` column (the parts a Slack message had
accepted; for email, one bit per position in the channel's ``to:``, so it only grows,
as that column must: :meth:`monitor.store.outbox.Outbox.record_parts`). PostgreSQL
keeps the column as a 32-bit integer: the first :data:`TRACKED` recipients are tracked,
and a recipient past them that is refused for now is logged and not retried, as
before this was tracked. A ``to:`` reordered by a reload while a message is half
delivered moves the positions: keep the order while messages are pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

TRACKED = 30  # recipients with a bit: parts_sent is a signed 32-bit integer on PostgreSQL


@dataclass
class Outcome:
    """What one SMTP transaction did for each recipient it was given.

    ``reply``: the server's answer to DATA, None when every recipient was refused
    (no DATA sent); ``accepted``: the addresses that took the mail; ``refused`` and
    ``deferred``: address → reply, refused for good (5xx) and for now (4xx).
    """

    reply: str | None = None
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)


def pending(to: Sequence[str], done: int) -> list[str]:
    """The recipients of ``to`` still to be sent the message, given ``done`` (the
    bits of the positions done); all of them when ``done`` is 0."""
    return [rcpt for i, rcpt in enumerate(to) if not (i < TRACKED and done >> i & 1)]


def with_done(to: Sequence[str], done: int, addresses: Sequence[str]) -> int:
    """``done`` with the positions of ``addresses`` in ``to`` added (tracked ones)."""
    for i, rcpt in enumerate(to[:TRACKED]):
        if rcpt in addresses:
            done |= 1 << i
    return done


def untracked(to: Sequence[str], addresses: Sequence[str]) -> list[str]:
    """Those of ``addresses`` past the first :data:`TRACKED` of ``to``: a retry could
    not go to them alone."""
    return [rcpt for rcpt in to[TRACKED:] if rcpt in addresses]
