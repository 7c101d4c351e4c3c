"""Fetching feed bytes: HTTP(S) with conditional GET, or ``file:`` paths.

Bounds every fetch: a total deadline (not only per read), a cap on the body after
decompression, and at most :data:`MAX_REDIRECTS` redirects. The httpx client is
passed in (see :func:`make_client`), so tests and the daemon share one seam.
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from monitor import USER_AGENT
from monitor.errors import FetchError
from monitor.redact import redact_url

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchResult:
    """What a fetch got: 304 (``body`` None) or 200 with the (decompressed) body."""

    url: str
    status: int
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when the server said the feed has not changed since the last poll."""
        return self.status == 304


def make_client() -> httpx.AsyncClient:
    """The shared HTTP client: our User-Agent, redirects capped, HTTP/1.1."""
    return httpx.AsyncClient(
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, "
            "application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        },
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(30.0),
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch ``url`` within ``timeout`` seconds in total; raise FetchError on failure."""
    if url.lower().startswith("file:"):
        return _read_file(url, max_bytes)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    shown = redact_url(url)
    try:
        async with asyncio.timeout(timeout):
            return await _get(client, url, headers, max_bytes, timeout)
    except TimeoutError:
        raise FetchError("timeout", f"{shown}: no complete answer within {timeout:g}s") from None
    except httpx.TooManyRedirects:
        raise FetchError("redirects", f"{shown}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.ConnectError as exc:
        kind = "tls" if "SSL" in str(exc) or "certificate" in str(exc) else "connect"
        raise FetchError(kind, f"{shown}: cannot connect: {_reason(exc)}") from None
    except httpx.TimeoutException:
        raise FetchError("timeout", f"{shown}: timed out") from None
    except httpx.HTTPError as exc:
        raise FetchError("http", f"{shown}: {type(exc).__name__}: {_reason(exc)}") from None


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict, max_bytes: int, timeout: float
) -> FetchResult:
    async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        final = str(response.url)
        if response.status_code == 304:
            return FetchResult(
                final,
                304,
                None,
                etag=headers.get("If-None-Match"),
                last_modified=headers.get("If-Modified-Since"),
            )
        if response.status_code != 200:
            raise FetchError(
                "http",
                f"{redact_url(url)}: HTTP {response.status_code} {response.reason_phrase}",
                status=response.status_code,
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(
                "too_large",
                f"{redact_url(url)}: body of {declared} bytes is over the {max_bytes}-byte limit",
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(
                    "too_large",
                    f"{redact_url(url)}: body is over the "
                    f"{max_bytes}-byte limit (after decompression)",
                )
            chunks.append(chunk)
        return FetchResult(
            final,
            200,
            b"".join(chunks),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=response.headers.get("Content-Type"),
        )


def file_path(url: str) -> Path:
    """The local path of a ``file:`` URL (``file:rel/path`` or ``file:///abs/path``)."""
    rest = url[len("file:") :]
    if rest.startswith("//"):
        rest = urlsplit(url).path
    return Path(unquote(rest))


def _read_file(url: str, max_bytes: int) -> FetchResult:
    path = file_path(url)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError("file", f"{url}: cannot read {path}: {exc.strerror}") from None
    if len(body) > max_bytes:
        raise FetchError("too_large", f"{url}: file is over the {max_bytes}-byte limit")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FetchResult(url, 200, body, content_type=content_type)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return redact_url(text.splitlines()[0])[:200]
