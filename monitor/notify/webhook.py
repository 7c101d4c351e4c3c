"""The webhook channel: POST the digest as JSON, signed per Standard Webhooks.

Headers: ``webhook-id`` (the digest id, the same on every retry),
``webhook-timestamp`` (unix seconds) and, when a secret is configured,
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.
Times in the body are UTC (ISO 8601, ``Z``) whatever the channel's ``timezone``:
the body is for programs. A ``send-test`` body has ``"test": true``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from monitor.config import WebhookChannel
from monitor.config.channelvalues import webhook_key
from monitor.errors import DeliveryError
from monitor.models import Digest, Duplicate, FeedRef, Story
from monitor.notify.post import post
from monitor.notify.retry import check_http_response
from monitor.notify.views import utc_iso


def _feed(feed: FeedRef) -> dict[str, str]:
    return {"name": feed.name, "url": feed.url}


def _duplicate(dup: Duplicate) -> dict[str, Any]:
    return {"guid": dup.guid, "title": dup.title, "url": dup.url, "feed": _feed(dup.feed)}


def _item(story: Story) -> dict[str, Any]:
    item = story.item
    return {
        "id": story.id,
        "guid": item.guid,
        "title": item.title,
        "url": item.link,
        "published": utc_iso(item.published),
        "feed": _feed(item.feed),
        "summary": item.summary,
        "rules": list(story.rules),
        "matched_terms": list(story.matched_terms),
        "duplicates": [_duplicate(d) for d in story.duplicates],
    }


def build_body(digest: Digest) -> dict[str, Any]:
    """The JSON body of docs/design/DESIGN.md (version 1) for ``digest`` (``"test": true``
    for send-test)."""
    body: dict[str, Any] = {
        "version": 1,
        "id": digest.id,
        "channel": digest.channel,
        "created_at": utc_iso(digest.created_at),
        "items": [_item(s) for s in digest.stories],
    }
    if getattr(digest, "test", False):
        body["test"] = True
    return body


def encode_body(digest: Digest) -> bytes:
    """``build_body`` as compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(build_body(digest), ensure_ascii=False, separators=(",", ":")).encode()


def _key(secret: str) -> bytes:
    """:func:`~monitor.config.channelvalues.webhook_key` (the rule ``check`` applies);
    its ValueError as a permanent DeliveryError."""
    try:
        return webhook_key(secret)
    except ValueError as exc:
        raise DeliveryError(str(exc), retryable=False) from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature ``v1,<base64>`` of ``body``.

    The key is the base64-decoded part after ``whsec_`` when the secret has that
    prefix, else the secret's UTF-8 bytes.
    """
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class WebhookNotifier:
    """POSTs digests to ``config.url`` through the shared httpx client."""

    def __init__(
        self,
        name: str,
        config: WebhookChannel,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.config = config
        self.http = http
        self.clock = clock

    def headers(self, digest: Digest, body: bytes) -> dict[str, str]:
        """The request headers, signature included when a secret is configured."""
        timestamp = int(self.clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": digest.id,
            "webhook-timestamp": str(timestamp),
        }
        if self.config.secret is not None:
            secret = self.config.secret.get_secret_value()
            headers["webhook-signature"] = sign(secret, digest.id, timestamp, body)
        return headers

    async def send(self, digest: Digest) -> str:
        """POST one digest; return what the receiver answered or raise DeliveryError.

        The channel's ``timeout`` bounds the whole attempt and the answer is read up
        to 64 KiB (:func:`monitor.notify.post.post`), which also fails a URL without a
        valid host permanently, saying so.
        """
        url = self.config.url.get_secret_value()
        body = encode_body(digest)
        answer = await post(
            self.http,
            url,
            channel=self.name,
            seconds=self.config.timeout.total_seconds(),
            content=body,
            headers=self.headers(digest, body),
        )
        return check_http_response(answer.response, url, answer.body, answer.cut)
