"""How far a message got before it stopped, as ``status`` and ``history`` show it: the
parts of a Slack digest posted, the recipients of an email still to get it.

Delivery keeps both in the message's ``parts_sent`` column
(:meth:`monitor.store.outbox.Outbox.record_parts`): for Slack the number of parts the
webhook accepted, for email one bit per position in ``to:`` for each recipient done,
accepted or refused for good (:mod:`monitor.notify.recipients`). Which of the two a
number is, and the totals, come from the config: a Slack digest's parts are counted
by splitting the message again as a resend would (the stories still stored, the
channel's current ``timezone``), which also says which part holds each alert's story
(``history``: ``this story is in part 2, not posted yet``); an email's recipients are
its current ``to:``. Without a config, or for a channel no longer in it, nothing is
claimed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.cli.messages import count

if TYPE_CHECKING:
    from monitor.config import Channel, MonitorConfig
    from monitor.notify.render import Renderer
    from monitor.store.dialect import Connection


class Progress:
    """The progress of the messages one command reads, each worked out once.

    ``conn``: the open state (a Slack message is split again from its stories);
    ``config``: the loaded config, None when none loads (then nothing is claimed).
    """

    def __init__(self, conn: Connection, config: MonitorConfig | None) -> None:
        self.conn = conn
        self.config = config
        self._renderer: Renderer | None = None
        self._known: dict[str, dict[str, Any] | None] = {}
        self._story_parts: dict[str, dict[tuple[str, int], int]] = {}  # by message id

    def of(
        self, message_id: str | None, channel: str, status: str, parts_sent: int
    ) -> dict[str, Any] | None:
        """How far the message ``message_id`` of ``channel`` got, if it stopped partway:
        ``{"of": "parts" | "recipients", "done": N, "total": M or None, "text": …}``
        (``text`` as ``status`` and ``history`` print it, e.g. ``1 of 3 parts
        posted``). None for a message sent, or that got nowhere (``parts_sent`` 0), or
        whose channel the config does not have as Slack or email."""
        if not parts_sent or status == "sent" or message_id is None or self.config is None:
            return None
        if message_id not in self._known:
            settings = self.config.channels.get(channel)
            self._known[message_id] = self._worked_out(message_id, settings, status, parts_sent)
        return self._known[message_id]

    def _worked_out(
        self, message_id: str, settings: Channel | None, status: str, parts_sent: int
    ) -> dict[str, Any] | None:
        """:meth:`of` for a message that got partway, by its channel's type."""
        if settings is not None and settings.type == "slack":
            total = self._slack_split(message_id, settings)
            if total is not None and total < parts_sent:
                total = None  # split otherwise since (a config change): no total claimed
            shown = f"{parts_sent} of {total} parts" if total else count(parts_sent, "part")
            return {"of": "parts", "done": parts_sent, "total": total, "text": f"{shown} posted"}
        if settings is not None and settings.type == "email":
            from monitor.notify.recipients import pending

            to = list(settings.to)
            left = len(pending(to, parts_sent))
            waits = "the retry goes to" if status == "pending" else "it never reached"
            text = (
                f"{waits} {left} of {count(len(to), 'recipient')}"
                " (the others have it, or refused it for good)"
            )
            return {"of": "recipients", "done": len(to) - left, "total": len(to), "text": text}
        return None

    def _slack_split(self, message_id: str, settings: Channel) -> int | None:
        """How many posts a resend of the message would make: its stories split as the
        notifier splits them (:func:`monitor.notify.slack.split_digest`), keeping the
        part of each ``(rule, story id)`` for :meth:`alerts`. None when retention took
        every story. The split counts the stories' blocks only, so the built-in
        templates do (the subject line, a user template's, is not split)."""
        from monitor.notify.render import Renderer
        from monitor.notify.slack import split_digest
        from monitor.store.digests import message_digest

        digest = message_digest(self.conn, message_id)
        if not digest.stories:
            return None
        if self._renderer is None:
            self._renderer = Renderer()
        parts = split_digest(digest, self._renderer.in_zone(settings.timezone))
        self._story_parts[message_id] = {
            (rule, digest.story_ids[n]): part
            for part, (_, shown) in enumerate(parts, 1)
            for rule, n in shown
        }
        return len(parts)

    def channel(self, name: str, summary: dict[str, Any]) -> dict[str, Any]:
        """A channel's ``summary`` (:func:`monitor.store.status.channel_summary`) with
        ``progress``, that of the message of its last error, in place of the message's
        raw row (``last_error_message``)."""
        entry = dict(summary)
        raw = entry.pop("last_error_message", None)
        found = raw and self.of(raw["id"], name, raw["status"], raw["parts_sent"])
        return entry | {"progress": found}

    def dead_letter(self, dead: dict[str, Any]) -> dict[str, Any]:
        """A dead letter (:func:`monitor.store.status.dead_letters`) with ``progress``
        in place of its raw ``parts_sent``."""
        entry = dict(dead)
        parts = entry.pop("parts_sent", 0)
        return entry | {"progress": self.of(entry["id"], entry["channel"], "failed", parts)}

    def alerts(self, rows: list[dict[str, Any]]) -> None:
        """``history``'s match rows: each alert's raw ``parts_sent`` replaced by its
        message's ``progress``, in place. For a Slack message split as it was sent,
        the progress also says which part holds the alert's story (``part``) and
        whether that part was posted."""
        for row in rows:
            for alert in row["channels"]:
                parts = alert.pop("parts_sent", 0)
                found = self.of(alert["message_id"], alert["channel"], alert["status"], parts)
                alert["progress"] = found and self._with_part(found, alert, row)

    def _with_part(
        self, found: dict[str, Any], alert: dict[str, Any], row: dict[str, Any]
    ) -> dict[str, Any]:
        """``found`` (a message's progress) with the part of ``row``'s story, when the
        message is a Slack one whose parts are known (its total: split as it was)."""
        if found["of"] != "parts" or not found["total"]:
            return found
        where = self._story_parts.get(alert["message_id"], {})
        part = where.get((row["rule"], row["story"]["id"]))
        if part is None:
            return found
        posted = "posted" if part <= found["done"] else "not posted yet"
        text = f"{found['text']}; this story is in part {part}, {posted}"
        return found | {"part": part, "text": text}

    def message(self, found: dict[str, Any] | None) -> None:
        """``history --message``'s message (None: there is none): its raw
        ``parts_sent`` replaced by ``progress``, in place."""
        if found is None:
            return
        parts = found.pop("parts_sent", 0)
        found["progress"] = self.of(found["id"], found["channel"], found["status"], parts)
