"""``history``'s text: a match with its story and channels, and one message.

The rows come from :mod:`monitor.cli.historycmd` (read from the store, links and
errors already redacted); this module only words them. Times are shown in the
config's ``timezone``, as ``status`` shows them (UTC without a config); ``--json``
keeps them UTC as stored.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.cli.messages import DUE_NOW, count, due_now
from monitor.cli.statusinfo import local_time

NEXT_ROUND = "the next delivery round"  # a pending alert's time before it has one
BASELINE_NOTE = "not alerted (first poll baseline: backfill, see docs/configuration.md#backfill)"


def match_text(row: dict[str, Any], tz: str = "UTC") -> str:
    """One match as text: a header line, the item, its story, one line per channel;
    times in ``tz`` (an IANA name: the config's ``timezone``)."""
    story = row["story"]
    lines = [
        f"{local_time(row['when'], tz)}  rule {row['rule']}  feed {row['feed']['name']}",
        f"  {row['title'] or '(no title)'}",
        f"  {row['link'] or '(no link)'}",
    ]
    lines += _story_lines(story)
    if row["no_channel"]:
        lines.append("  not alerted: the rule notifies no channel")
    elif not row["channels"] and row["no_channel"] is None:  # no config: no reason claimed
        where = " (recorded at its feed's first poll)" if row["baseline"] else ""
        lines.append(f"  not alerted: no alert queued{where}")
    elif not row["channels"]:
        lines.append("  " + (BASELINE_NOTE if row["baseline"] else "not alerted: no alert queued"))
    lines += [f"  {c['channel']}: {_outcome(c, tz)}" for c in row["channels"]]
    return "\n".join(lines)


def _story_lines(story: dict[str, Any]) -> list[str]:
    role = "first report" if story["first"] else "a copy folded into it"
    lines = [f"  story {story['id']} ({role}; {count(story['copies_total'], 'other item')})"]
    lines += [
        f"    also: {c['feed']['name']}: {c['title'] or '(no title)'}" for c in story["copies"]
    ]
    if story["copies_total"] > len(story["copies"]):
        lines.append(f"    ... and {story['copies_total'] - len(story['copies'])} more")
    return lines


def _outcome(alert: dict[str, Any], tz: str) -> str:
    """What happened to one alert on its channel."""
    if alert["status"] == "sent":
        return f"sent {local_time(alert['sent_at'], tz)}, message {alert['message_id']}"
    got = f"; {alert['progress']['text']}" if alert.get("progress") else ""
    if alert["status"] == "failed":
        return (
            f"FAILED {local_time(alert['failed_at'], tz)}, message {alert['message_id']}: "
            f"{alert['last_error'] or 'no reason recorded'}{got}"
        )
    text = f"pending since {local_time(alert['queued_at'], tz)}"
    if alert["message_id"]:
        text += f", message {alert['message_id']}"
    if alert["attempts"]:
        text += f", {count(alert['attempts'], 'attempt')}"
    text += got
    if alert["waiting"]:
        text += f"; {alert['waiting']}"
    elif alert["attempts"] or alert["message_id"]:  # in a message: due, or waits for a retry
        text += f"; {_next_attempt(alert['next_attempt'], tz)}"
    if alert["attempts"] and alert["last_error"]:
        text += f"; last error: {alert['last_error']}"
    return text


def show_message(
    found: dict[str, Any], as_json: bool, waiting: str | None, tz: str = "UTC"
) -> None:
    """One message: its state and what it waits for, its attempts (and a ``retry``
    that re-queued it), its answer or error, and its stories. ``waiting``: what it
    waits for beyond its turn (its channel removed or disabled), if anything; ``tz``:
    the zone of the text's times."""
    pending = found["status"] == "pending"
    if as_json:
        message = {**found, "waiting": waiting if pending else None}
        print(json.dumps({"message": message}, ensure_ascii=False, indent=2))
        return

    def at(key: str) -> str:
        return local_time(found[key], tz, NEXT_ROUND)

    state = {
        "sent": f"SENT {at('sent_at')}",
        "failed": f"FAILED {at('failed_at')} (a dead letter)",
    }.get(found["status"], "PENDING, " + (waiting or _next_attempt(found["next_attempt"], tz)))
    print(f"message {found['id']}  channel {found['channel']}  {state}")
    print(f"  created {at('created_at')}, {_attempts(found, at('requeued_at'))}")
    if found.get("progress"):  # stopped partway: Slack parts posted, email recipients left
        print(f"  progress: {found['progress']['text']}")
    if found["answer"]:
        print(f"  answer: {found['answer']}")
    if found["last_error"]:
        when = f" ({at('attempted_at')})" if found["attempted_at"] and pending else ""
        print(f"  last error{when}: {found['last_error']}")
    held_back = found["held_back"]
    print(
        f"  {count(len(found['stories']), 'story')}"
        + (f" ({held_back} held back for the next message)" if held_back else "")
    )
    for s in found["stories"]:
        print(f"  - {s['title'] or '(no title)'} [{', '.join(s['rules'])}]")
        print(f"    {s['feed']['name'] if s['feed'] else '-'}: {s['link'] or '(no link)'}")
        print("\n".join("  " + line for line in _story_lines(s["story"])))


def _next_attempt(next_attempt: str | None, tz: str) -> str:
    """When a pending message is tried next: :data:`DUE_NOW` once its time has come
    (a send in progress never reads as a next attempt in the past), else that time."""
    if due_now(next_attempt):
        return DUE_NOW
    return f"next attempt at {local_time(next_attempt, tz, NEXT_ROUND)}"


def _attempts(found: dict[str, Any], requeued: str) -> str:
    """The message's attempts, and the ``retry`` that put it back in line (at
    ``requeued``, as shown): ``retry`` starts the count again, and the attempts
    before it are not kept."""
    tried = count(found["attempts"], "attempt")
    if not found["requeued_at"]:
        return tried
    return (
        f"re-queued by `news-monitor retry` at {requeued} (a dead letter or a "
        f"disabled channel's; the attempts before are not kept), {tried} since"
    )
