"""The Apprise channel: one digest to many services (Teams, Discord, Telegram, ntfy, ...).

An optional extra (``pip install news-monitor[apprise]``): the ``apprise`` package is
imported only when a channel of this type sends or is checked, and ``check`` reports
clearly when it is missing. Apprise says only "sent" or "not sent", so every
failure is retryable (bounded by ``max_attempts`` and ``max_age``); its error log
lines, with the URLs' secrets removed, become the failure's message.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from monitor.config.channels import APPRISE_INSTALL_HINT as INSTALL_HINT
from monitor.config.channels import SERVER_SCHEMES, AppriseChannel, scheme_host
from monitor.config.channels import apprise_available as available
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify.deadline import attempt
from monitor.notify.render import Renderer
from monitor.notify.views import one_line

_MENTION = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_ANGLE_MENTION = re.compile(r"<(?=[@!#])")
_SECRET_PART = re.compile(r"[^/:@?&=#;,]{6,}")


def redact(text: str, urls: list[str]) -> str:
    """Remove the configured URLs' paths, users, passwords and queries from ``text``,
    and their hosts but for a scheme whose host is a server
    (:data:`~monitor.config.channels.SERVER_SCHEMES`): a service's host is most often a
    credential (``pover://USER@TOKEN``, ``ntfy://TOPIC``)."""
    for url in urls:
        parts = urlsplit(url)
        secret_bits = [parts.path, parts.query, parts.username or "", parts.password or ""]
        if parts.scheme.lower() not in SERVER_SCHEMES:
            secret_bits.append(parts.hostname or "")
        for bit in secret_bits:
            for piece in _SECRET_PART.findall(bit):
                text = text.replace(piece, "<redacted>")
    return text


def defuse(text: str) -> str:
    """Feed text made harmless for chat services: no ``@everyone``, ``<@id>``, ``<!here>``."""
    return _ANGLE_MENTION.sub("<\u200b", _MENTION.sub("@\u200b", text))


class AppriseNotifier:
    """Sends each digest (subject as title, text or HTML as body) to every URL."""

    def __init__(self, name: str, config: AppriseChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer.in_zone(config.timezone)

    def body(self, digest: Digest) -> str:
        """The message body in the channel's ``format`` (HTML escaped, text defused)."""
        if self.config.format == "html":
            return self.renderer.html(digest)
        return defuse(self.renderer.text(digest))

    async def send(self, digest: Digest) -> str:
        """Notify every URL; return what Apprise said or raise a retryable DeliveryError.

        The channel's ``timeout`` bounds the whole attempt.
        """
        if not available():
            raise DeliveryError(f"apprise is not installed: {INSTALL_HINT}", retryable=False)
        title = defuse(self.renderer.subject(digest))
        hosts = ", ".join(scheme_host(u.get_secret_value()) for u in self.config.urls)
        # The deadline ends the wait; Apprise's thread ends at its own plugins' timeouts.
        async with attempt(self.name, hosts, self.config.timeout.total_seconds()):
            return await asyncio.to_thread(self._notify, title, self.body(digest))

    def _notify(self, title: str, body: str) -> str:
        import apprise

        urls = [u.get_secret_value() for u in self.config.urls]
        hosts = ", ".join(scheme_host(u) for u in urls)
        client = apprise.Apprise()
        for url in urls:
            if not client.add(url):
                raise DeliveryError(
                    f"not a supported Apprise URL: {scheme_host(url)}", retryable=False
                )
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = client.notify(body=body, title=title, body_format=_FORMATS[self.config.format])
        if ok:
            return f"apprise accepted by {hosts}"
        lines = [one_line(line, 300) for line in _lines(captured)]
        detail = redact("; ".join(lines[-3:]), urls) or "no detail"
        raise DeliveryError(f"apprise could not notify {hosts}: {detail}", retryable=True)


_FORMATS = {"text": "text", "markdown": "markdown", "html": "html"}


def _lines(captured: Any) -> list[str]:
    text = captured.getvalue() if hasattr(captured, "getvalue") else ""
    return [line.split(" - ", 2)[-1] for line in text.splitlines() if line.strip()]
