"""One HTTP POST to a destination (webhook, Slack): a total deadline and a capped answer.

httpx's own ``timeout`` bounds each socket operation, so a receiver that answers a
byte at a time (or streams forever) would hold the channel indefinitely and, read
whole, grow memory without bound. Here the request runs inside
:func:`monitor.notify.deadline.attempt` (connect + send + answer within the
channel's ``timeout``) and the answer is streamed and read up to
:data:`MAX_ANSWER_BYTES`: we need only its status and a short excerpt.
"""

from __future__ import annotations

from typing import Any

import httpx

from monitor.errors import DeliveryError
from monitor.notify.deadline import attempt
from monitor.notify.retry import destination_host, http_exception

MAX_ANSWER_BYTES = 64 * 1024

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
    transport errors, permanent for a bad URL; messages name only the host.
    """
    host = destination_host(url)
    # Raw bytes are what we count: ask for no compression, so the excerpt is readable.
    headers = {"accept-encoding": "identity", **(request.pop("headers", None) or {})}
    try:
        async with (
            attempt(channel, host, seconds),
            http.stream(
                "POST", url, headers=headers, timeout=seconds, follow_redirects=False, **request
            ) as response,
        ):
            body, cut = await _read_capped(response)
    except httpx.HTTPError as exc:
        raise http_exception(exc, host) from None
    except httpx.InvalidURL:
        raise DeliveryError(f"invalid URL for {host}", retryable=False) from None
    return Answer(response, body, cut)


async def _read_capped(response: httpx.Response) -> tuple[bytes, bool]:
    """The body as sent (not decompressed) up to MAX_ANSWER_BYTES, and whether more followed."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return b"".join(chunks)[:MAX_ANSWER_BYTES], True
    return b"".join(chunks), False
