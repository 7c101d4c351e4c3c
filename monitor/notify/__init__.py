"""Delivery: render digests and send them through console, email, Slack, webhook or Apprise.

Every channel implements :class:`Notifier`; :func:`build_notifier` makes one from a
channel's config. ``send`` returns a one-line, secret-free description of what the
destination answered, or raises :class:`monitor.errors.DeliveryError` whose
``retryable`` and ``retry_after`` drive the outbox (see :mod:`monitor.notify.retry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    import httpx

    from monitor.config import Channel
    from monitor.models import Digest
    from monitor.notify.render import Renderer

__all__ = ["Notifier", "build_notifier"]


class Notifier(Protocol):
    """A channel that delivers digests."""

    name: str

    async def send(self, digest: Digest) -> str:
        """Deliver one digest; describe the destination's answer or raise DeliveryError."""
        ...


def build_notifier(
    name: str,
    config: Channel,
    renderer: Renderer,
    http: httpx.AsyncClient,
    stdout: TextIO | None = None,
) -> Notifier:
    """The notifier for channel ``name`` (``stdout`` is the console channel's stream)."""
    from monitor.notify.console import ConsoleNotifier
    from monitor.notify.email import EmailNotifier
    from monitor.notify.slack import SlackNotifier
    from monitor.notify.webhook import WebhookNotifier

    if config.type == "console":
        return ConsoleNotifier(name, config, renderer, stdout)
    if config.type == "email":
        return EmailNotifier(name, config, renderer)
    if config.type == "slack":
        return SlackNotifier(name, config, renderer, http)
    if config.type == "webhook":
        return WebhookNotifier(name, config, http)
    if config.type == "apprise":
        from monitor.notify.apprise import AppriseNotifier

        return AppriseNotifier(name, config, renderer)
    raise ValueError(f"unknown channel type {config.type!r}")
