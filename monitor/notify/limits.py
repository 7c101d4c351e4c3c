"""How big one message may be, per channel type, and fitting a digest under that bound.

A destination refuses a message that is too large for good (HTTP 413, SMTP 552), so
an unbounded digest would turn every story in it, urgent ones too, into a dead
letter. The bound (``max_message_bytes``, docs/channels.md) is measured on what the
channel really sends:

- webhook: the JSON body (default 1 MiB);
- email: the whole MIME message as sent at DATA (default 10 MiB; SMTP servers
  commonly refuse 10–25 MB, RFC 1870 ``SIZE``);
- Slack: every post of the digest together (no default: :mod:`monitor.notify.slack`
  already splits a digest into posts within Slack's limits of 50 blocks and
  40,000 characters of text per post);
- console, Apprise: the rendered text (no default).

Too many stories: fewer go in the message, the rest wait for the next one ("and N
more"). One story too big on its own: its text is shortened; if even that does not
fit, the message fails with :class:`TooBig`, and only that message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from monitor.config import Channel
from monitor.models import Digest, Match, Story
from monitor.notify.render import Renderer

Measure = Callable[[Digest], int]

# Story text lengths tried in turn when one story alone is too big (characters).
_TEXT_STEPS = (4000, 1000, 200, 0)
_DUPLICATE_STEPS = (20, 5, 0)
_TITLE_CHARS = 300


class TooBig(Exception):
    """One story, shortened as far as it goes, is still larger than the bound."""


def measure_for(settings: Channel, renderer: Renderer) -> Measure:
    """The size in bytes of what a channel of ``settings`` sends for a digest.

    The last digest measured is remembered (by identity), so checking a digest that
    fits and then sending it renders it once for the check.
    """
    last: list[tuple[Digest, int]] = []

    def remembered(digest: Digest) -> int:
        if not last or last[0][0] is not digest:
            last[:] = [(digest, size(digest))]
        return last[0][1]

    size = _measure(settings, renderer)
    return remembered


def _measure(settings: Channel, renderer: Renderer) -> Measure:
    renderer = renderer.in_zone(settings.timezone)  # times as the channel shows them
    if settings.type == "webhook":
        from monitor.notify.webhook import encode_body

        return lambda digest: len(encode_body(digest))
    if settings.type == "email":
        from monitor.notify.email import SMTP_POLICY, build_message

        return lambda digest: len(
            build_message(digest, settings, renderer).as_bytes(policy=SMTP_POLICY)
        )
    if settings.type == "slack":
        from monitor.notify.slack import build_messages

        return lambda digest: sum(
            len(json.dumps(post, ensure_ascii=False).encode())
            for post in build_messages(digest, renderer)
        )
    if settings.type == "apprise" and settings.format == "html":
        return lambda digest: len(renderer.html(digest).encode())
    return lambda digest: len(renderer.text(digest).encode())


def first(digest: Digest, count: int) -> Digest:
    """``digest`` with only its first ``count`` stories (the rest counted as held back)."""
    left = len(digest.stories) - count
    if not left:
        return digest
    changes: dict[str, object] = {"stories": digest.stories[:count]}
    if hasattr(digest, "story_ids"):
        changes["story_ids"] = digest.story_ids[:count]
        changes["held_back"] = digest.held_back + left
    return replace(digest, **changes)


def fitting_count(digest: Digest, settings: Channel, measure: Measure | None) -> int:
    """How many of ``digest``'s first stories one message of the channel holds (≥ 1).

    At most ``max_items``, then as many as fit ``max_message_bytes`` measured by
    ``measure`` (:func:`measure_for`; None when the channel has no byte bound). The
    rest wait for the next message. Delivery and ``preview`` both shape a digest so.
    """
    keep = min(len(digest.stories), settings.max_items or len(digest.stories))
    if settings.max_message_bytes and measure:
        keep = stories_that_fit(first(digest, keep), measure, settings.max_message_bytes)
    return keep


def stories_that_fit(digest: Digest, measure: Measure, limit: int) -> int:
    """How many of the digest's first stories fit in ``limit`` bytes (at least 1).

    A binary search over the count (a message grows with its stories), so a digest
    of n stories is rendered about log2(n) times.
    """
    count = len(digest.stories)
    if count <= 1 or measure(digest) <= limit:
        return count
    low, high = 1, count - 1  # invariant: the answer is in [low, high]; 1 always "fits"
    while low < high:
        middle = (low + high + 1) // 2
        if measure(first(digest, middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def shortened(digest: Digest, measure: Measure, limit: int) -> Digest:
    """``digest`` if it fits in ``limit`` bytes, else its stories' text shortened to fit.

    Shortens summary and content, then the duplicates listed, then the title; raises
    :class:`TooBig` when the shortest form is still larger than ``limit``.
    """
    size = measure(digest)
    if size <= limit:
        return digest
    for duplicates in _DUPLICATE_STEPS:
        for chars in _TEXT_STEPS:
            stories = tuple(_cut(s, chars, duplicates) for s in digest.stories)
            candidate = replace(digest, stories=stories)
            if measure(candidate) <= limit:
                return candidate
    raise TooBig(
        f"message of {size} bytes is larger than max_message_bytes ({limit}) "
        "even with its story's text shortened"
    )


def _cut(story: Story, chars: int, duplicates: int) -> Story:
    """``story`` with at most ``chars`` of summary and content and ``duplicates`` listed."""
    item = story.item
    title = item.title if chars else item.title[:_TITLE_CHARS]
    cut = replace(
        item,
        title=title,
        summary=_shorter(item.summary, chars),
        content=_shorter(item.content, chars),
    )
    lengths = {"title": len(title), "summary": len(cut.summary), "content": len(cut.content)}
    matches = tuple(_highlights_within(m, lengths) for m in story.matches)
    return replace(story, item=cut, matches=matches, duplicates=story.duplicates[:duplicates])


def _shorter(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars].rstrip() + ("…" if chars else "")


def _highlights_within(match: Match, lengths: dict[str, int]) -> Match:
    """``match`` without highlights past the end of a shortened field."""
    kept = tuple(h for h in match.highlights if h.end <= lengths.get(h.field, h.end))
    return replace(match, highlights=kept)
