"""The email channel: multipart text + HTML through SMTP (stdlib, in a thread).

The ``Message-ID`` is derived from the digest id, so a retried digest is the same
message to the recipient's mail system. SMTP 4xx answers, dropped connections and
timeouts are retryable; 5xx answers (including 535, bad credentials) are permanent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from monitor.config import EmailChannel
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify.render import Renderer
from monitor.notify.views import one_line

log = logging.getLogger("monitor.notify")

# 7bit: bodies are quoted-printable/base64, so no server needs 8BITMIME.
SMTP_POLICY = SMTP.clone(cte_type="7bit")


def message_id(digest: Digest) -> str:
    """``<{digest.id}@news-monitor>``, with characters unsafe in a msg-id replaced."""
    return f"<{re.sub(r'[^A-Za-z0-9._+=-]', '_', digest.id)[:200]}@news-monitor>"


def build_message(digest: Digest, config: EmailChannel, renderer: Renderer) -> EmailMessage:
    """The multipart/alternative message for ``digest``; header values are one line."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = renderer.subject(digest, config.subject_prefix)
    msg["From"] = config.from_
    msg["To"] = ", ".join(config.to)
    msg["Date"] = format_datetime(_aware(digest))
    msg["Message-ID"] = message_id(digest)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-News-Monitor-Channel"] = one_line(digest.channel, 100)
    msg.set_content(renderer.text(digest))
    msg.add_alternative(renderer.html(digest), subtype="html")
    return msg


def _aware(digest: Digest) -> datetime:
    created = digest.created_at
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return one_line(f"{code} {text}", 300)


def _smtp_error(host: str, stage: str, code: int, text: bytes | str) -> DeliveryError:
    """4xx → retryable, anything else → permanent."""
    where = f" at {stage}" if stage else ""
    return DeliveryError(
        f"SMTP {host} answered{where}: {_reply(code, text)}", retryable=400 <= code < 500
    )


class EmailNotifier:
    """Sends each digest as one email to ``config.to``."""

    def __init__(self, name: str, config: EmailChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer

    async def send(self, digest: Digest) -> str:
        """Send one digest; return the server's reply to DATA (e.g. ``"250 OK"``)."""
        msg = build_message(digest, self.config, self.renderer)
        return await asyncio.to_thread(self._deliver, msg)

    def _connect(self) -> smtplib.SMTP:
        smtp = self.config.smtp
        timeout = self.config.timeout.total_seconds()
        context = ssl.create_default_context()
        if smtp.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        try:
            client.ehlo()
            if smtp.starttls and not smtp.tls:
                client.starttls(context=context)
                client.ehlo()
            if smtp.username and smtp.password is not None:
                client.login(smtp.username, smtp.password.get_secret_value())
        except BaseException:
            client.close()
            raise
        return client

    def _deliver(self, msg: EmailMessage) -> str:
        host = f"{self.config.smtp.host}:{self.config.smtp.port}"
        try:
            client = self._connect()
            try:
                return self._transaction(client, msg, host)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except DeliveryError:
            raise
        except smtplib.SMTPResponseException as exc:  # connect/EHLO/STARTTLS/AUTH answers
            raise _smtp_error(host, "", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryError(f"SMTP server {host} disconnected: {exc}", retryable=True) from None
        except smtplib.SMTPException as exc:  # e.g. STARTTLS or AUTH not offered
            raise DeliveryError(f"SMTP error with {host}: {exc}", retryable=False) from None
        except (TimeoutError, OSError) as exc:  # refused, unreachable, TLS, timeout
            reason = str(exc) or type(exc).__name__
            message = f"cannot reach SMTP server {host}: {reason}"
            raise DeliveryError(message, retryable=True) from None

    def _transaction(self, client: smtplib.SMTP, msg: EmailMessage, host: str) -> str:
        """MAIL, RCPT, DATA by hand so DATA's own reply can be returned."""
        code, text = client.mail(parseaddr(self.config.from_)[1] or self.config.from_)
        if code != 250:
            raise _smtp_error(host, "MAIL FROM", code, text)
        refused: dict[str, str] = {}
        for rcpt in self.config.to:
            code, text = client.rcpt(parseaddr(rcpt)[1] or rcpt)
            if code not in (250, 251):
                refused[rcpt] = _reply(code, text)
        if len(refused) == len(self.config.to):
            codes = [int(r.split(" ", 1)[0]) for r in refused.values()]
            worst = min(codes) if any(400 <= c < 500 for c in codes) else max(codes)
            detail = "; ".join(f"{k}: {v}" for k, v in refused.items())
            raise DeliveryError(
                f"SMTP {host} refused every recipient: {detail}", retryable=400 <= worst < 500
            )
        code, text = client.data(msg.as_bytes(policy=SMTP_POLICY))
        if code != 250:
            raise _smtp_error(host, "DATA", code, text)
        reply = _reply(code, text)
        if refused:
            log.warning("channel %s: some recipients refused: %s", self.name, refused)
            reply += f" (refused: {', '.join(refused)})"
        return reply
