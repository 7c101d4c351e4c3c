"""The Slack channel: Block Kit messages through an incoming webhook.

Every piece of feed-derived text is escaped (``&``, ``<``, ``>``), so no feed can
ping ``<!channel>`` or smuggle a ``<http://...|link>``; ``@channel``-style words get
a zero-width space. Long digests are split into several messages within Slack's
limits (50 blocks a message, 3000 characters a section, 150 a header); the split is
deterministic, so a retry after a partial failure resumes at the first part that
was not accepted: this process remembers it, and delivery stores each accepted part
(``messages.parts_sent``, :meth:`SlackNotifier.send_resuming`), so a resend by a
restarted daemon or another instance resumes there too.

Slack allows about one message per second per incoming webhook: posts to one
webhook URL are spaced at least :data:`MIN_SPACING` seconds apart (across channels
sharing it), and a 429 whose ``Retry-After`` is short is waited out in place.

Times are shown in the channel's ``timezone``, the zone named (``20:41 KST``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from monitor.config import SlackChannel
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify.post import post
from monitor.notify.render import TEST_MARK, Renderer
from monitor.notify.retry import check_http_response, destination_host
from monitor.notify.views import groups_of, one_line, story_view

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_MESSAGE_CHARS = 12000  # conservative: Slack rejects very long messages
TITLE_CHARS = 200
DUPLICATES_SHOWN = 5
MIN_SPACING = 1.0  # seconds between posts to one webhook
INLINE_RETRY_AFTER = 10.0  # a 429 asking to wait at most this long is waited out in place
INLINE_RETRIES = 3
log = logging.getLogger("monitor.notify")
_next_slot: dict[str, float] = {}  # webhook URL -> monotonic time of its next allowed post
_MENTION = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack-escape feed text: ``& < >`` as entities, ``@channel`` defused, one line."""
    text = one_line(text, 10_000)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u200b", text)


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL, else just the escaped label."""
    label = escape(label) or "link"
    if not url or not re.match(r"(?i)https?://\S+$", url):
        return label
    safe = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{safe}|{label}>"


def fit(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` chars without splitting an entity or a ``<link>``."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: limit - 1])
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    return cut + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, MAX_SECTION)}}


def _marked(segments: list[dict[str, Any]]) -> str:
    """Segments as mrkdwn, matches in bold; the spaces around each segment are kept."""
    out = []
    for seg in segments:
        raw = seg["text"]
        core = escape(raw)
        if not core:
            out.append(" " if raw else "")
            continue
        lead = " " if raw[:1].isspace() else ""
        trail = " " if raw[-1:].isspace() else ""
        out.append(lead + (f"*{core}*" if seg["match"] else core) + trail)
    return "".join(out)


def story_blocks(story_ctx: dict[str, Any]) -> list[Block]:
    """A section (title link, terms, snippet, duplicates) and a source/time context."""
    lines = [f"*{link(story_ctx['url'], story_ctx['title'][:TITLE_CHARS])}*"]
    if story_ctx["terms"]:
        lines.append("Matched: " + ", ".join(f"*{escape(t)}*" for t in story_ctx["terms"]))
    if story_ctx["snippet_segments"]:
        lines.append(">" + _marked(story_ctx["snippet_segments"]))
    dups = story_ctx["duplicates"]
    if dups:
        shown = [
            f"{escape(d['feed']['name'])} ({link(d['url'], d['title'][:TITLE_CHARS])})"
            for d in dups[:DUPLICATES_SHOWN]
        ]
        more = max(0, len(dups) - DUPLICATES_SHOWN) + story_ctx["more_duplicates"]
        if more:
            shown.append(f"and {more} more")
        lines.append("Also reported by: " + "; ".join(shown))
    source = escape(story_ctx["feed"]["name"]) or "unknown feed"
    if story_ctx["published"]:
        source += f" · {story_ctx['published']}"
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(source, 2000)}]}
    return [_section("\n".join(lines)), context]


def _size(blocks: list[Block]) -> int:
    return sum(
        len(b.get("text", {}).get("text", "")) + sum(len(e["text"]) for e in b.get("elements", []))
        for b in blocks
    )


def build_messages(digest: Digest, renderer: Renderer) -> list[dict[str, Any]]:
    """The webhook payloads for ``digest``: each ≤ 50 blocks, ≤ MAX_MESSAGE_CHARS."""
    parts = [blocks for blocks, _ in split_digest(digest, renderer)]
    return [_payload(digest, renderer, blocks, i, len(parts)) for i, blocks in enumerate(parts, 1)]


def split_digest(
    digest: Digest, renderer: Renderer
) -> list[tuple[list[Block], list[tuple[str, int]]]]:
    """``digest`` split into the parts :func:`build_messages` posts, in order: each
    part's blocks, and the ``(rule, position in digest.stories)`` of each story it
    shows (a story matched by two rules shows under each). Deterministic, so a resend
    makes the same parts and ``status`` can say which part holds a story."""
    position = {id(story): n for n, story in enumerate(digest.stories)}
    parts: list[tuple[list[Block], list[tuple[str, int]]]] = []
    current: list[Block] = []
    shown: list[tuple[str, int]] = []
    for rule, stories in groups_of(digest):
        first = True
        for story in stories:
            units = story_blocks(story_view(story, rule, renderer.timezone))
            if current and (
                len(current) + len(units) + 1 > MAX_BLOCKS - 1
                or _size(current) + _size(units) > MAX_MESSAGE_CHARS
            ):
                parts.append((current, shown))
                current, shown = [], []
            if first or not current:
                label = f" ({len(stories)})" if first else " (continued)"
                current.append(_section(f"*{escape(rule)}*{label}"))
            current.extend(units)
            shown.append((rule, position[id(story)]))
            first = False
    held_back = getattr(digest, "held_back", 0)
    if held_back:
        note = _section(f"_…and {held_back} more, in the next message._")
        if current and len(current) < MAX_BLOCKS - 1:
            current.append(note)
        else:
            if current:
                parts.append((current, shown))
            current, shown = [note], []
    if current or not parts:
        parts.append((current or [_section("No new stories.")], shown))
    return parts


def _payload(
    digest: Digest, renderer: Renderer, blocks: list[Block], part: int, total: int
) -> dict[str, Any]:
    count = len(digest.stories)
    title = f"news-monitor: {count} {'story' if count == 1 else 'stories'} for {digest.channel}"
    if getattr(digest, "test", False):
        title = f"{TEST_MARK} {title}"
    suffix = f" ({part}/{total})" if total > 1 else ""
    header_text = one_line(title, MAX_HEADER - len(suffix)) + suffix
    header = {"type": "header", "text": {"type": "plain_text", "text": header_text}}
    fallback = escape(renderer.subject(digest)) + suffix
    return {"text": fit(fallback, 3000), "blocks": [header, *blocks]}


class SlackNotifier:
    """Posts each digest as one or more Block Kit messages to the incoming webhook."""

    def __init__(
        self, name: str, config: SlackChannel, renderer: Renderer, http: httpx.AsyncClient
    ) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer.in_zone(config.timezone)
        self.http = http
        self._delivered: OrderedDict[str, int] = OrderedDict()  # digest id -> parts accepted

    async def send(self, digest: Digest) -> str:
        """Post every part of one digest; return the last answer or raise DeliveryError.

        Parts accepted before a failure are remembered in this process only: a retry
        of the same digest id starts at the first part not accepted.
        """
        return await self.send_resuming(digest, 0, None)

    async def send_resuming(
        self,
        digest: Digest,
        accepted: int,
        on_accept: Callable[[int], Awaitable[None]] | None,
    ) -> str:
        """Like :meth:`send`, starting after the ``accepted`` parts stored for this digest
        (or the more this process remembers), and awaiting ``on_accept(n)`` (store it)
        after the destination accepted part ``n`` (1-based) of a multi-part digest.

        A failing ``on_accept`` (a store error) is logged and the parts go on (a later
        failure is remembered in this process from where it happened). Parts all
        accepted before: nothing is posted.
        """
        url = self.config.webhook_url.get_secret_value()
        host = destination_host(url)
        messages = build_messages(digest, self.renderer)
        done = max(self._delivered.get(digest.id, 0), accepted)
        answer = "all accepted before" if done >= len(messages) else ""
        for index in range(done, len(messages)):
            try:
                answer = await self._post(url, host, messages[index])
            except DeliveryError as exc:
                self._remember(digest.id, index)
                if len(messages) > 1:
                    exc.args = (f"{exc} (message {index + 1} of {len(messages)})",)
                raise
            if on_accept is not None and len(messages) > 1:
                await self._accepted(on_accept, digest.id, index + 1)
        self._delivered.pop(digest.id, None)
        return answer if len(messages) == 1 else f"{len(messages)} messages; last: {answer}"

    async def _accepted(
        self, on_accept: Callable[[int], Awaitable[None]], digest_id: str, parts: int
    ) -> None:
        """Tell ``on_accept`` that ``parts`` parts were accepted; a failure is logged (the
        next part goes on)."""
        try:
            await on_accept(parts)
        except Exception as exc:
            log.warning(
                "channel=%s message=%s: %d parts accepted, not stored (%s: %s)",
                self.name,
                digest_id,
                parts,
                type(exc).__name__,
                one_line(str(exc), 200),
            )

    async def _post(self, url: str, host: str, payload: dict[str, Any]) -> str:
        """One post, spaced from the last one to this webhook; short 429s waited out.

        Each post is one attempt within the channel's ``timeout`` (the wait for its
        slot is not counted), its answer read up to 64 KiB.
        """
        for attempt in range(INLINE_RETRIES + 1):
            await _wait_for_slot(url)
            seconds = self.config.timeout.total_seconds()
            answer = await post(self.http, url, channel=self.name, seconds=seconds, json=payload)
            try:
                return check_http_response(answer.response, host, answer.body, answer.cut)
            except DeliveryError as exc:
                wait = exc.retry_after
                if answer.status != 429 or attempt == INLINE_RETRIES:
                    raise
                if wait is None or wait > INLINE_RETRY_AFTER:
                    raise
                _next_slot[url] = max(_next_slot.get(url, 0.0), time.monotonic() + wait)
        raise AssertionError("unreachable")

    def _remember(self, digest_id: str, parts_done: int) -> None:
        """Keep how many parts of a digest were accepted (a bounded LRU)."""
        self._delivered[digest_id] = parts_done
        self._delivered.move_to_end(digest_id)
        while len(self._delivered) > 256:
            self._delivered.popitem(last=False)


async def _wait_for_slot(url: str) -> None:
    """Reserve the next post slot of ``url`` (≥ MIN_SPACING after the last) and sleep to it."""
    now = time.monotonic()
    slot = max(now, _next_slot.get(url, 0.0))
    _next_slot[url] = slot + MIN_SPACING
    if len(_next_slot) > 1024:  # forget webhooks idle for a while
        for key in [k for k, v in _next_slot.items() if v < now]:
            del _next_slot[key]
    if slot > now:
        await asyncio.sleep(slot - now)
