"""The SMTP conversation's parts that are not the email channel's: a reply as text
and as a DeliveryError (4xx retryable, 5xx permanent: RFC 5321 section 4.2.1),
STARTTLS (RFC 3207), the SIZE a server announces (RFC 1870) and a conversation the
event loop can cut off from outside the thread that holds it.

Kept apart from :mod:`monitor.notify.email`, which builds the message and drives a
delivery through them.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading

from monitor.errors import DeliveryError
from monitor.notify.views import one_line
from monitor.redact import redact_secrets


def reply_text(code: int, text: bytes | str) -> str:
    """An SMTP reply as one line of at most 300 characters: ``450 4.2.1 mailbox busy``;
    registered secrets masked before the cut (a 535 may quote the password across it)."""
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return one_line(redact_secrets(f"{code} {text}"), 300)


def smtp_error(host: str, stage: str, code: int, text: bytes | str) -> DeliveryError:
    """4xx → retryable, anything else → permanent."""
    where = f" at {stage}" if stage else ""
    return DeliveryError(
        f"SMTP {host} answered{where}: {reply_text(code, text)}", retryable=400 <= code < 500
    )


def announced_size(client: smtplib.SMTP) -> int:
    """The largest message the server takes, as its EHLO announced it (``SIZE n``,
    RFC 1870 section 4); 0 when it did not say (or said 0: no limit)."""
    value = client.esmtp_features.get("size", "").strip()
    return int(value) if value.isdigit() else 0


def too_big(text: bytes | str) -> bool:
    """Whether a 552 reply is about the message's size (RFC 1870 section 6.1; enhanced
    code 5.3.4, RFC 3463), not a full mailbox (5.2.2)."""
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return "5.3.4" in reply or ("size" in reply.lower() and "5.2." not in reply)


STARTTLS_HINT = "(set starttls: false for a server without TLS, e.g. a local relay)"


def starttls(client: smtplib.SMTP, context: ssl.SSLContext | None, host: str) -> None:
    """Upgrade the connection with STARTTLS (RFC 3207).

    Raises DeliveryError (permanent) when the server does not offer it, with the hint
    to set ``starttls: false`` (the default is true: a local relay often has no TLS).
    """
    try:
        client.starttls(context=context)
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryError(
            f"SMTP error with {host}: {exc} {STARTTLS_HINT}", retryable=False
        ) from None


class Conversation:
    """One SMTP conversation that the event loop can cut off from outside its thread."""

    def __init__(self) -> None:
        self.client: smtplib.SMTP | None = None
        self._aborted = threading.Event()

    def check(self) -> None:
        """Raise if the deadline passed while a socket was being set up (connect, TLS)."""
        if self._aborted.is_set():
            raise OSError("the attempt's deadline passed")

    def abort(self) -> None:
        """Shut the socket down: a read or write blocked on it returns at once."""
        self._aborted.set()
        sock = getattr(self.client, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)
