"""The one retry policy every channel shares (Alertmanager-style).

A destination's answer is either accepted (2xx), worth retrying later (429, 408,
5xx, timeouts, connection errors), permanent (other 4xx, 3xx, bad URLs) or says the
destination is gone for good (410: :class:`ChannelGone`, the channel is disabled).
The outbox decides *when* to retry with :func:`backoff_seconds`.

Messages built here name only the destination's host: webhook URLs carry their
secret in the path or query, so neither ever appears in a message.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from monitor.errors import DeliveryError

MAX_RETRY_AFTER = 24 * 3600.0
_EXCERPT = 200
_RETRYABLE_STATUS = {408, 429}


class ChannelGone(DeliveryError):
    """The destination answered 410 Gone: disable the channel until ``retry CHANNEL``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class PayloadTooLarge(DeliveryError):
    """HTTP 413 (RFC 9110 §15.5.14): this message is too big for the destination.

    Permanent for this message only: the outbox splits it, or fails it alone.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def destination_host(destination: str | httpx.URL) -> str:
    """Reduce a URL (or a bare host) to ``host[:port]`` for messages."""
    text = str(destination)
    if "://" not in text:
        return text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "destination"
    host = url.host or "destination"
    return f"{host}:{url.port}" if url.port else host


def _redact(text: str, url: httpx.URL | None) -> str:
    """Remove the request URL (and its secret-bearing path/query) from ``text``."""
    if url is None:
        return text
    raw = str(url)
    for secret in (raw, raw.split("://", 1)[-1], url.raw_path.decode("ascii", "replace")):
        if len(secret) > 1:
            text = text.replace(secret, "<redacted>")
    return text


def _request_url(obj: httpx.Response | httpx.HTTPError) -> httpx.URL | None:
    try:
        return obj.request.url
    except RuntimeError:  # no request attached
        return None


def _excerpt(response: httpx.Response, body: bytes | None) -> str:
    try:
        if body is None:
            text = response.text
        else:
            text = body[: _EXCERPT * 4].decode(response.encoding or "utf-8", "replace")
    except (httpx.HTTPError, UnicodeDecodeError, LookupError):
        text = ""
    text = re.sub(r"\s+", " ", text[: _EXCERPT * 4]).strip()[:_EXCERPT]
    return _redact(text, _request_url(response))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def check_http_response(
    response: httpx.Response, destination: str, body: bytes | None = None, cut: bool = False
) -> str:
    """Describe an accepted response, or raise :class:`DeliveryError` for a refused one.

    2xx returns ``"HTTP 200 from <host>: <body excerpt>"``; 429, 408 and 5xx raise a
    retryable error carrying ``Retry-After``; 410 raises :class:`ChannelGone`;
    anything else raises a permanent one. ``body`` is the answer as read (else the
    response's own content); ``cut`` says it was not read to its end (past the size
    cap, or still arriving near the deadline): a 2xx status is an acceptance all the
    same, so the message is not sent twice.
    """
    host = destination_host(destination)
    status = response.status_code
    excerpt = _excerpt(response, body)
    summary = f"HTTP {status} from {host}" + (f": {excerpt}" if excerpt else "")
    if 200 <= status < 300:
        if cut:
            return f"HTTP {status} from {host} (answer cut after {len(body or b'')} bytes)"
        return summary
    if status in _RETRYABLE_STATUS or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise DeliveryError(summary, retryable=True, retry_after=retry_after)
    if 300 <= status < 400:
        summary += " (redirects are not followed; fix the configured URL)"
    if status == 410:
        raise ChannelGone(summary + " (the destination is gone: channel disabled)")
    if status == 413:
        raise PayloadTooLarge(summary)
    raise DeliveryError(summary, retryable=False)


def http_exception(exc: httpx.HTTPError, destination: str) -> DeliveryError:
    """Turn an httpx transport error into a :class:`DeliveryError` (not raised).

    Timeouts and network/protocol errors are retryable; a malformed or unsupported
    URL, too many redirects or an undecodable answer are permanent.
    """
    host = destination_host(destination)
    reason = _redact(str(exc), _request_url(exc)) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryError(f"timeout talking to {host}: {reason}", retryable=True)
    permanent = (httpx.UnsupportedProtocol, httpx.TooManyRedirects, httpx.DecodingError)
    if isinstance(exc, permanent) or not isinstance(exc, httpx.TransportError):
        return DeliveryError(f"request to {host} failed: {reason}", retryable=False)
    return DeliveryError(f"cannot reach {host}: {reason}", retryable=True)


def backoff_seconds(
    attempt: int,
    retry_after: float | None = None,
    base: float = 30.0,
    cap: float = 3600.0,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number ``attempt`` (1 = first retry).

    Exponential with full jitter: uniform in ``[0, min(cap, base * 2**(attempt-1))]``,
    but never less than ``retry_after`` (itself capped at 24 hours).
    """
    exponent = min(max(attempt, 1) - 1, 60)
    ceiling = min(cap, base * 2.0**exponent)
    delay = (rng or random).uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), MAX_RETRY_AFTER))
    return delay
