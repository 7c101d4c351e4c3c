"""``preview --format sent``: what each channel would send now, in its own form.

The other preview formats show the generic renderings (the text, the HTML, the JSON
body); a user writing templates or checking a channel wants what the destination
gets: an email's headers (Subject, From, To) and parts, Slack's Block Kit posts, a
webhook's request headers and body, Apprise's title and body. The digest is shaped
to the channel's bounds first (``max_items``, ``max_message_bytes``) exactly as a
delivery shapes it (:mod:`monitor.notify.limits`), so the preview says which
stories wait for the next message.

Nothing secret is shown: not a Slack or webhook URL (only its scheme and host), not
the webhook secret (the signature is computed at sending time and not shown here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from monitor.config import Channel
from monitor.config.channels import scheme_host
from monitor.models import Digest
from monitor.notify.limits import TooBig, first, fitting_count, measure_for, shortened
from monitor.notify.render import Renderer
from monitor.terminal import printable


@dataclass(frozen=True)
class SentPreview:
    """One channel's preview: the message as sent (``text``), how many of the digest's
    stories it holds (``sent``), and how many wait for the next message (``waiting``).
    ``text`` is a reason when the message would fail (``failed`` True)."""

    text: str
    sent: int
    waiting: int
    failed: bool = False


def preview_sent(settings: Channel, digest: Digest, renderer: Renderer) -> SentPreview:
    """The message a channel of ``settings`` would send for ``digest`` now.

    The stories past ``max_items``/``max_message_bytes`` are left for the next message
    and one story too big alone is shortened, as delivery does
    (:func:`monitor.notify.limits.fitting_count`, :func:`~monitor.notify.limits.shortened`);
    a message that cannot fit even then is reported as failing (``failed``), as
    delivery would fail it. Times are in the channel's ``timezone``. The text is made
    printable (no terminal control sequences from feed text).
    """
    renderer = renderer.in_zone(settings.timezone)
    limit = settings.max_message_bytes
    measure = measure_for(settings, renderer) if limit else None
    keep = fitting_count(digest, settings, measure)
    shaped = first(digest, keep)
    waiting = len(digest.stories) - keep
    if limit and measure:
        try:
            shaped = shortened(shaped, measure, limit)
        except TooBig as exc:
            return SentPreview(f"this message would fail: {exc}", keep, waiting, failed=True)
    return SentPreview(printable(_sent_text(settings, shaped, renderer)), keep, waiting)


def _sent_text(settings: Channel, digest: Digest, renderer: Renderer) -> str:
    if settings.type == "email":
        return _email(settings, digest, renderer)
    if settings.type == "slack":
        return _slack(settings, digest, renderer)
    if settings.type == "webhook":
        return _webhook(settings, digest)
    if settings.type == "apprise":
        return _apprise(settings, digest, renderer)
    return renderer.text(digest)


def _email(settings: Channel, digest: Digest, renderer: Renderer) -> str:
    """The message's headers, then each part decoded (the wire form is 7-bit MIME)."""
    from monitor.notify.email import build_message

    message = build_message(digest, settings, renderer)
    lines = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        lines += ["", f"--- part {part.get_content_type()} ---", part.get_content().rstrip("\n")]
    return "\n".join(lines)


def _slack(settings: Channel, digest: Digest, renderer: Renderer) -> str:
    """Each Block Kit post as the JSON sent to the incoming webhook (URL not shown)."""
    from monitor.notify.slack import build_messages

    posts = build_messages(digest, renderer)
    host = scheme_host(settings.webhook_url.get_secret_value())
    out = []
    for number, post in enumerate(posts, 1):
        out.append(f"--- POST {number} of {len(posts)} to {host}/… ---")
        out.append(json.dumps(post, ensure_ascii=False, indent=2))
    return "\n".join(out)


def _webhook(settings: Channel, digest: Digest) -> str:
    """The request line, its headers (the per-send ones described) and the body.

    The body is sent as compact JSON; it is shown indented (the same value).
    """
    from monitor.notify.webhook import build_body

    lines = [
        f"POST {scheme_host(settings.url.get_secret_value())}/…",
        "content-type: application/json",
        f"webhook-id: {digest.id}",
        "webhook-timestamp: (the time of sending, unix seconds)",
    ]
    if settings.secret is not None:
        lines.append("webhook-signature: v1,… (HMAC-SHA256 with the secret, at sending)")
    lines += ["", json.dumps(build_body(digest), ensure_ascii=False, indent=2)]
    return "\n".join(lines)


def _apprise(settings: Channel, digest: Digest, renderer: Renderer) -> str:
    """The title and body Apprise is given, and the services' scheme and host."""
    from monitor.notify.apprise import AppriseNotifier, defuse

    notifier = AppriseNotifier("preview", settings, renderer)
    hosts = ", ".join(scheme_host(u.get_secret_value()) for u in settings.urls)
    title = defuse(renderer.subject(digest))
    return f"to: {hosts}\ntitle: {title}\nformat: {settings.format}\n\n{notifier.body(digest)}"
