"""Fetching feed bytes: HTTP(S) with conditional GET, or ``file:`` paths.

Bounds every fetch: a total deadline (not only per read), a cap on the body after
decompression (inflated incrementally, see :mod:`monitor.ingest.decode`), and at
most :data:`MAX_REDIRECTS` redirects (followed by :mod:`monitor.ingest.redirects`, so
a target we cannot send, ``data:`` or a control character, is a FetchError). The
httpx client is passed in (see :func:`make_client`); ``make_client(guarded=True)``
applies the SSRF rule (:func:`monitor.ingest.urlguard.check_url`) to every request,
redirects included, and checks the resolved addresses at connect time
(:mod:`monitor.ingest.netguard`).
``fetch(..., allow_private=True, origin=feed_url)`` lets the host of the feed URL the
operator wrote (that host only) reach a private address. The result carries what
polite polling needs: a permanent redirect's target, caching hints, a body hash.

The body is read within its cap, leniently like a browser, by :mod:`monitor.ingest.body`.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from monitor import USER_AGENT
from monitor.errors import FetchError
from monitor.ingest.body import MAX_BYTES_SETTING, read_body, too_large_error
from monitor.ingest.decode import ACCEPT_ENCODING, CorruptBody, TooLarge, decode_bounded
from monitor.ingest.netguard import ALLOW_PRIVATE_HOST, GuardedTransport, lazy_tls_context
from monitor.ingest.redirects import MAX_REDIRECTS, final_response, keep_location
from monitor.ingest.schedule import cache_min_interval, parse_retry_after
from monitor.ingest.urlguard import check_form, private_host, shown_url
from monitor.redact import redact_url


@dataclass(frozen=True)
class FetchResult:
    """What a fetch got: 304 (``body`` None) or 200 with the (decompressed) body.

    ``permanent_url`` is set when the URL answered with 301/308 redirects (the
    target the stored feed URL should become); ``min_interval_seconds`` is how long
    the server said the answer stays fresh (``Cache-Control: max-age``/``Expires``);
    ``body_sha256`` is the hex SHA-256 of the body, to skip parsing an unchanged one.
    """

    url: str
    status: int
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    permanent_url: str | None = None
    min_interval_seconds: float | None = None
    body_sha256: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when the server said the feed has not changed since the last poll."""
        return self.status == 304


class FetchStatusError(FetchError):
    """An HTTP status that is not a feed: ``kind`` "gone" (410) or "http".

    ``retry_after`` holds the seconds a 429/503 (or any status) asked us to wait.
    """

    def __init__(
        self, kind: str, message: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(kind, message, status=status)
        self.retry_after = retry_after


# What a feed poll asks for (RFC 9110, 12.5.1): the feed formats first, any XML next,
# anything at all last (a feed served as text/html is still read).
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


def make_client(
    *, guarded: bool = False, verify: ssl.SSLContext | bool = True, max_connections: int = 100
) -> httpx.AsyncClient:
    """The shared HTTP client: our User-Agent, redirects capped, HTTP/1.1. It sends
    httpx's ``Accept: */*``: a feed poll asks for feeds (:data:`FEED_ACCEPT`) per request
    in :func:`fetch`, so a webhook or Slack post does not claim to want a feed back.

    ``guarded=True`` gives the client for feeds and articles: every connection is
    checked by :class:`~monitor.ingest.netguard.GuardedTransport` (no proxies from
    the environment). Channels (webhooks, Slack) keep using an unguarded client, as
    their destinations are written by the operator. ``verify=True`` is httpx's default
    verification with the CA certificates read at the first TLS handshake
    (:func:`~monitor.ingest.netguard.lazy_tls_context`).
    """
    # httpcore closes an idle connection whenever the pool holds more than
    # max_keepalive_connections (counting busy ones too) and scans every connection
    # for each request it assigns: a small pool is a cheap one. 20 keeps a
    # connection per poll slot (ingest.max_parallel_fetches, 16) for the next feed.
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=min(20, max_connections)
    )
    if verify is True:  # the guarded client never reads SSL_CERT_* (trust_env=False)
        verify = lazy_tls_context(trust_env=not guarded)
    extra: dict = {"limits": limits, "verify": verify}
    if guarded:
        extra = {"transport": GuardedTransport(verify=verify, limits=limits), "trust_env": False}
    return httpx.AsyncClient(
        event_hooks={"response": [keep_location]},
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(30.0),
        **extra,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private: bool = False,
    origin: str | None = None,
    limit_setting: str = MAX_BYTES_SETTING,
    accept: str = FEED_ACCEPT,
) -> FetchResult:
    """Fetch ``url`` within ``timeout`` seconds in total; raise FetchError on failure.

    ``max_bytes`` caps the body after decompression (bytes); over it the error
    (kind ``too_large``) says to raise ``limit_setting``, the config key the cap came
    from (``defaults.max_bytes`` for feeds). ``accept`` is the request's ``Accept``
    header (an article's fetch asks for HTML). A guarded client applies
    :func:`~monitor.ingest.urlguard.check_url` to ``url`` and each redirect's target:
    ``origin`` is the URL the operator wrote that led here (the feed URL, for an
    advertised feed or an article link; default ``url`` itself), and with
    ``allow_private`` (config ``allow_private_networks``) only *its* host may be a
    private address. Any client refuses a URL it cannot send (kind ``url``).
    ``file:`` URLs are read only as the operator's own (``origin`` None or ``url``).
    """
    if url[:5].lower() == "file:":
        if origin not in (None, url):
            raise FetchError("url", f"{shown_url(url)}: file: is not fetched for a feed's link")
        return _read_file(url, max_bytes, limit_setting)
    check_form(url)
    allowed = private_host(origin or url, allow_private)
    headers = {"Accept": accept, "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    extensions = {ALLOW_PRIVATE_HOST: allowed} if allowed else {}
    shown = redact_url(url)
    try:
        async with (
            asyncio.timeout(timeout),
            final_response(
                client, url, headers=headers, extensions=extensions, timeout=timeout
            ) as (response, permanent_url),
        ):
            return await _answer(response, url, headers, (max_bytes, limit_setting), permanent_url)
    except TimeoutError:
        raise FetchError("timeout", f"{shown}: no complete answer within {timeout:g}s") from None
    except httpx.ConnectError as exc:
        kind = "tls" if _is_tls(exc) else "connect"
        raise FetchError(kind, f"{shown}: cannot connect: {_reason(exc)}") from None
    except httpx.TimeoutException:
        raise FetchError("timeout", f"{shown}: timed out") from None
    except httpx.HTTPError as exc:
        kind = "tls" if _is_tls(exc) else "http"
        raise FetchError(kind, f"{shown}: {type(exc).__name__}: {_reason(exc)}") from None
    except httpx.InvalidURL as exc:  # check_url_for should have caught it: said anyway
        raise FetchError("url", f"{shown}: not a valid URL ({_reason(exc)})") from None
    except FetchError as exc:
        if exc.kind in ("blocked", "url") and not str(exc).startswith(shown):
            raise FetchError(exc.kind, f"{shown}: {exc}") from None
        raise


async def _answer(
    response: httpx.Response,
    url: str,
    headers: dict,
    cap: tuple[int, str],
    permanent_url: str | None,
) -> FetchResult:
    """The FetchResult of the final (non-redirect) answer."""
    fresh = cache_min_interval(
        response.headers.get("Cache-Control"), response.headers.get("Expires")
    )
    common = {"permanent_url": permanent_url, "min_interval_seconds": fresh}
    if response.status_code == 304:
        # A 304 has no body, but the connection goes back to the pool for the
        # next request only once the end of the message is read: closing it
        # unread would close the connection (a new TCP connection per 304).
        await response.aread()
        return FetchResult(
            str(response.url),
            304,
            None,
            etag=response.headers.get("ETag") or headers.get("If-None-Match"),
            last_modified=headers.get("If-Modified-Since"),
            **common,
        )
    if response.status_code != 200:
        raise _status_error(url, response)
    body = await read_body(response, url, *cap)
    return FetchResult(
        str(response.url),
        200,
        body,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type"),
        body_sha256=hashlib.sha256(body).hexdigest(),
        **common,
    )


def _status_error(url: str, response: httpx.Response) -> FetchStatusError:
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    message = f"{redact_url(url)}: HTTP {status} {response.reason_phrase}"
    if retry_after is not None:
        message += f" (retry after {retry_after:.0f}s)"
    if status == 410:
        return FetchStatusError("gone", message + ": the feed is gone for good", status)
    return FetchStatusError("http", message, status, retry_after)


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE" in str(seen).upper():
            return True
        seen = seen.__cause__ or seen.__context__
    return "SSL" in str(exc)


def file_path(url: str) -> Path:
    """The local path of a ``file:`` URL (``file:rel/path`` or ``file:///abs/path``)."""
    rest = url[len("file:") :]
    if rest.startswith("//"):
        rest = urlsplit(url).path
    return Path(unquote(rest))


def _read_file(url: str, max_bytes: int, limit_setting: str = MAX_BYTES_SETTING) -> FetchResult:
    path = file_path(url)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError("file", f"{url}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # a NUL in the path (%00): no file has that name
        raise FetchError("file", f"{url}: cannot read {str(path)!r}: {exc}") from None
    if len(body) > max_bytes:
        raise too_large_error(f"{url}: file", max_bytes, limit_setting)
    try:  # a gzip file (feed.xml.gz) is read inflated, with the same bound
        body = decode_bounded(body, None, max_bytes)
    except TooLarge:
        note = " after decompression"
        raise too_large_error(f"{url}: file", max_bytes, limit_setting, note) from None
    except CorruptBody as exc:
        raise FetchError("file", f"{url}: cannot decode {path}: {exc}") from None
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    digest = hashlib.sha256(body).hexdigest()
    return FetchResult(url, 200, body, content_type=content_type, body_sha256=digest)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return redact_url(text.splitlines()[0])[:200]
