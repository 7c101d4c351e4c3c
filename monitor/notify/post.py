"""One HTTP POST to a destination (webhook, Slack): a total deadline and a capped answer.

httpx's own ``timeout`` bounds each socket operation, so a receiver that answers a
byte at a time (or streams forever) would hold the channel indefinitely and, read
whole, grow memory without bound. Here the request runs inside
:func:`monitor.notify.deadline.attempt` (connect + send + answer within the
channel's ``timeout``) and the answer is streamed and read up to
:data:`MAX_ANSWER_BYTES`: we need only its status and a short excerpt.

The status line is the destination's word: once a 2xx status has arrived, the
message was accepted, whatever its body does next (Alertmanager's notifiers read
only the status too). A body that goes on past the cap, or is still arriving at
90% of the deadline, is cut and the acceptance stands: retrying would send the
alert twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from monitor.config.channelvalues import http_url_problem
from monitor.errors import DeliveryError
from monitor.notify.deadline import attempt
from monitor.notify.retry import destination_host, http_exception
from monitor.redact import redact_url

MAX_ANSWER_BYTES = 64 * 1024
BODY_SHARE = 0.9  # of the deadline, after which a body still arriving is cut

__all__ = ["MAX_ANSWER_BYTES", "Answer", "post"]


class Answer:
    """A destination's answer: the response (status, headers) and at most 64 KiB of its body."""

    def __init__(self, response: httpx.Response, body: bytes, cut: bool) -> None:
        self.response = response
        self.body = body
        self.cut = cut  # the body went on past MAX_ANSWER_BYTES and was not read further

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self.response.status_code


async def post(
    http: httpx.AsyncClient, url: str, *, channel: str, seconds: float, **request: Any
) -> Answer:
    """POST to ``url`` within ``seconds`` in all; the answer's body capped at 64 KiB.

    ``request`` is passed to httpx (``content``/``json``, ``headers``). Redirects are
    not followed. Raises :class:`DeliveryError`: retryable for the deadline and
    transport errors, permanent for a bad URL; messages name only the host, or the
    URL without its password for one that is not ``http(s)://HOST…``
    (:func:`~monitor.config.channelvalues.http_url_problem`, the rule ``check``
    applies; httpx would say "missing an 'http://' protocol" for one with no host).
    """
    if problem := http_url_problem(url):
        raise DeliveryError(f"URL {redact_url(url)} {problem}", retryable=False)
    host = destination_host(url)
    # Raw bytes are what we count: ask for no compression, so the excerpt is readable.
    headers = {"accept-encoding": "identity", **(request.pop("headers", None) or {})}
    body_deadline = asyncio.get_running_loop().time() + seconds * BODY_SHARE
    try:
        async with (
            attempt(channel, host, seconds),
            http.stream(
                "POST", url, headers=headers, timeout=seconds, follow_redirects=False, **request
            ) as response,
        ):
            body, cut = await _read_capped(response, body_deadline)
    except httpx.HTTPError as exc:
        raise http_exception(exc, host) from None
    except httpx.InvalidURL:
        raise DeliveryError(f"invalid URL for {host}", retryable=False) from None
    return Answer(response, body, cut)


async def _read_capped(response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
    """The body as sent (not decompressed) up to MAX_ANSWER_BYTES, and whether it was cut.

    Reading stops at the cap, or at ``deadline`` (event-loop time) once the status
    is in; a body that is not over then is cut rather than the attempt failed.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    return b"".join(chunks)[:MAX_ANSWER_BYTES], True
    except TimeoutError:
        return b"".join(chunks), True
    return b"".join(chunks), False
