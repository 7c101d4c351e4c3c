"""The email channel: multipart text + HTML through SMTP (stdlib, in a thread).

The ``Message-ID`` is derived from the digest id, so a retried digest is the same
message to the recipient's mail system. SMTP 4xx answers, dropped connections and
timeouts (the channel's ``timeout`` bounds the whole conversation) are retryable;
5xx answers (including 535, bad credentials) are permanent. Each recipient has its
own answer: one refused for now while others took the mail gets the retry alone
(:mod:`monitor.notify.recipients`).

Times in the message (its ``Date``, the digest's) are in the channel's ``timezone``.
A ``send-test`` message says so in its subject (``[TEST]``) and in the header
``X-News-Monitor-Test: 1``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from monitor.config import EmailChannel
from monitor.config.channelvalues import parse_address
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify import recipients
from monitor.notify.deadline import attempt
from monitor.notify.render import Renderer
from monitor.notify.retry import PayloadTooLarge
from monitor.notify.smtpwire import (
    Conversation,
    announced_size,
    reply_text,
    smtp_error,
    starttls,
    too_big,
)
from monitor.notify.views import one_line

log = logging.getLogger("monitor.notify")

# 7bit: bodies are quoted-printable/base64, so no server needs 8BITMIME.
SMTP_POLICY = SMTP.clone(cte_type="7bit")


def message_id(digest: Digest) -> str:
    """``<{digest.id}@news-monitor>``, with characters unsafe in a msg-id replaced."""
    return f"<{re.sub(r'[^A-Za-z0-9._+=-]', '_', digest.id)[:200]}@news-monitor>"


# The last message built: (digest, weakly; config; renderer's key; the message).
_LAST: list[tuple[weakref.ref[Digest], EmailChannel, tuple[object, ...], EmailMessage]] = []


def build_message(digest: Digest, config: EmailChannel, renderer: Renderer) -> EmailMessage:
    """The multipart/alternative message for ``digest``; header values are one line.

    The last message built is remembered (by the digest's identity, weakly, the
    config's and the renderer's :attr:`~monitor.notify.render.Renderer.key`): a
    delivery checks the message's size (:mod:`monitor.notify.limits`), then sends
    the same digest, and renders its subject, text and HTML once for both. It is
    forgotten when the digest object is.
    """
    renderer = renderer.in_zone(config.timezone)
    if _LAST:
        ref, known_config, known_key, known = _LAST[0]
        if ref() is digest and known_config is config and known_key == renderer.key:
            return known
    msg = _build(digest, config, renderer)
    try:
        _LAST[:] = [(weakref.ref(digest, _forget), config, renderer.key, msg)]
    except TypeError:  # a digest type without weak references: not remembered
        _LAST.clear()
    return msg


def _forget(gone: weakref.ref[Digest]) -> None:
    """The remembered message goes with its digest (it can be megabytes)."""
    if _LAST and _LAST[0][0] is gone:
        _LAST.clear()


def _build(digest: Digest, config: EmailChannel, renderer: Renderer) -> EmailMessage:
    """:func:`build_message`, built (``renderer`` in the channel's zone)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = renderer.subject(digest, config.subject_prefix)
    msg["From"] = _address(config.from_)
    msg["To"] = [_address(to) for to in config.to]
    msg["Date"] = format_datetime(_aware(digest).astimezone(ZoneInfo(config.timezone)))
    msg["Message-ID"] = message_id(digest)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-News-Monitor-Channel"] = one_line(digest.channel, 100)
    if getattr(digest, "test", False):
        msg["X-News-Monitor-Test"] = "1"
    msg.set_content(renderer.text(digest))
    msg.add_alternative(renderer.html(digest), subtype="html")
    return msg


def _address(text: str) -> Address:
    """``text`` parsed as one mailbox (:func:`~monitor.config.channelvalues.parse_address`).

    ``check`` rejects a bad address; one that reaches here anyway (a config built by
    code) fails the message permanently with the reason instead of the header
    parser's ``IndexError``. Raises DeliveryError (not retryable).
    """
    try:
        return parse_address(text)
    except ValueError as exc:
        raise DeliveryError(str(exc), retryable=False) from None


def _aware(digest: Digest) -> datetime:
    created = digest.created_at
    return created if created.tzinfo else created.replace(tzinfo=UTC)


class EmailNotifier:
    """Sends each digest as one email to ``config.to``."""

    def __init__(self, name: str, config: EmailChannel, renderer: Renderer) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer

    async def send(self, digest: Digest) -> str:
        """Send one digest to every recipient; the server's reply to DATA (``250 OK``).
        Raises DeliveryError as :meth:`send_resuming`."""
        return await self.send_resuming(digest, 0, None)

    async def send_resuming(
        self, digest: Digest, done: int, on_accept: Callable[[int], Awaitable[None]] | None
    ) -> str:
        """Send one digest to the recipients not ``done`` yet (the bits of their positions
        in ``to:``, :mod:`monitor.notify.recipients`), awaiting ``on_accept(done)`` (store
        it) once some more are done; the server's reply to DATA.

        The conversation runs in a thread, all of it within the channel's ``timeout``
        (connect, greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA): when the deadline
        passes, its socket is shut down so the thread ends too, and the attempt
        fails as retryable ("timeout: no answer from HOST within 30s"). A recipient
        refused for now (4xx) while others took the mail makes the attempt fail as
        retryable, and the retry goes to that recipient only; one refused for good
        (5xx) is named in the reply and not tried again.
        """
        to = self.config.to
        waiting = recipients.pending(to, done)
        if not waiting:
            return "already accepted for every recipient"
        msg = build_message(digest, self.config, self.renderer)
        conversation = Conversation()
        host = f"{self.config.smtp.host}:{self.config.smtp.port}"
        try:
            async with attempt(self.name, host, self.config.timeout.total_seconds()):
                outcome = await asyncio.to_thread(self._deliver, msg, conversation, waiting)
        finally:
            conversation.abort()  # a no-op once the conversation is over
        now_done = recipients.with_done(to, done, [*outcome.accepted, *outcome.refused])
        if on_accept is not None and now_done != done:
            await on_accept(now_done)
        return self._answer(outcome, host)

    def _answer(self, outcome: recipients.Outcome, host: str) -> str:
        """The reply of an attempt, or its DeliveryError: every recipient refused
        (retryable if any for now), or some refused for now (retryable, for them)."""
        refused, deferred = outcome.refused, outcome.deferred
        if outcome.reply is None:
            detail = "; ".join(f"{k}: {v}" for k, v in {**refused, **deferred}.items())
            raise DeliveryError(
                f"SMTP {host} refused every recipient: {detail}", retryable=bool(deferred)
            )
        reply = outcome.reply
        if refused:
            log.warning("channel %s: some recipients refused: %s", self.name, refused)
            reply += f" (refused: {', '.join(refused)})"
        lost = recipients.untracked(self.config.to, list(deferred))
        if lost:
            log.warning("channel %s: refused for now, not retried: %s", self.name, lost)
        if len(lost) < len(deferred):
            detail = "; ".join(f"{k}: {v}" for k, v in deferred.items() if k not in lost)
            raise DeliveryError(
                f"SMTP {host} accepted the mail for {len(outcome.accepted)} of "
                f"{len(self.config.to)} recipients; refused for now: {detail} "
                "(sent again to them only)",
                retryable=True,
            )
        return reply

    def _connect(self, conversation: Conversation) -> smtplib.SMTP:
        smtp = self.config.smtp
        timeout = self.config.timeout.total_seconds()
        # Read the CA certificates (~15 ms) only for a conversation that uses TLS.
        context = ssl.create_default_context() if smtp.tls or smtp.starttls else None
        # Made unconnected, so the conversation can shut its socket from the loop.
        if smtp.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(timeout=timeout)
        client._host = smtp.host  # what __init__(host) sets: TLS checks the certificate for it
        conversation.client = client
        try:
            code, greeting = client.connect(smtp.host, smtp.port)
            conversation.check()
            if code != 220:  # as smtplib.SMTP(host) does
                raise smtplib.SMTPConnectError(code, greeting)
            client.ehlo()
            if smtp.starttls and not smtp.tls:
                starttls(client, context, f"{smtp.host}:{smtp.port}")
                conversation.check()
                client.ehlo()
            if smtp.username and smtp.password is not None:
                client.login(smtp.username, smtp.password.get_secret_value())
        except BaseException:
            client.close()
            raise
        return client

    def _deliver(
        self, msg: EmailMessage, conversation: Conversation, to: list[str]
    ) -> recipients.Outcome:
        host = f"{self.config.smtp.host}:{self.config.smtp.port}"
        try:
            client = self._connect(conversation)
            try:
                return self._transaction(client, msg, host, to)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except DeliveryError:
            raise
        except smtplib.SMTPResponseException as exc:  # connect/EHLO/STARTTLS/AUTH answers
            raise smtp_error(host, "", exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryError(f"SMTP server {host} disconnected: {exc}", retryable=True) from None
        except smtplib.SMTPException as exc:  # e.g. STARTTLS or AUTH not offered
            raise DeliveryError(f"SMTP error with {host}: {exc}", retryable=False) from None
        except (TimeoutError, OSError) as exc:  # refused, unreachable, TLS, timeout
            reason = str(exc) or type(exc).__name__
            message = f"cannot reach SMTP server {host}: {reason}"
            raise DeliveryError(message, retryable=True) from None

    def _transaction(
        self, client: smtplib.SMTP, msg: EmailMessage, host: str, to: list[str]
    ) -> recipients.Outcome:
        """MAIL, RCPT for each of ``to``, DATA, by hand, so each RCPT's and DATA's own
        replies are known. Raises DeliveryError for a MAIL or DATA refused."""
        data = msg.as_bytes(policy=SMTP_POLICY)
        limit = announced_size(client)
        if limit and len(data) > limit:  # RFC 1870: the server said it would refuse it
            raise PayloadTooLarge(
                f"SMTP {host} takes messages up to {limit:,} bytes (EHLO SIZE); this one"
                f" is {len(data):,}"
            )
        code, text = client.mail(_address(self.config.from_).addr_spec)
        if code != 250:
            raise smtp_error(host, "MAIL FROM", code, text)
        outcome = recipients.Outcome()
        for rcpt in to:
            code, text = client.rcpt(_address(rcpt).addr_spec)
            if code in (250, 251):
                outcome.accepted.append(rcpt)
            elif 400 <= code < 500:
                outcome.deferred[rcpt] = reply_text(code, text)
            else:
                outcome.refused[rcpt] = reply_text(code, text)
        if not outcome.accepted:
            client.rset()
            return outcome
        code, text = client.data(data)
        if code == 552 and too_big(text):
            raise PayloadTooLarge(f"SMTP {host} answered at DATA: {reply_text(code, text)}")
        if code != 250:
            raise smtp_error(host, "DATA", code, text)
        outcome.reply = reply_text(code, text)
        return outcome
