"""SSRF guard at connect time, after DNS resolution, for the rule of :mod:`urlguard`.

:class:`GuardedTransport` checks every request's URL with
:func:`~monitor.ingest.urlguard.check_url_for` (redirects included), and its network
backend sees the addresses a hostname *really* resolves to at the moment of
connecting, checks every one of them, and connects to the checked IP itself: DNS
rebinding between a check and a connect is impossible because there is only one
resolution.

It keeps two connection pools: a strict one (public addresses only) and a
permissive one (private addresses allowed, cloud metadata never). A request goes to
the permissive pool only when it carries the :data:`ALLOW_PRIVATE_HOST` extension
naming *its own* host: the host of the URL the fetch started from, which
:func:`monitor.ingest.fetch.fetch` sets when ``allow_private`` is true. Redirect
requests carry the same extension, so one to a *different* private host is refused.

:func:`lazy_tls_context` is the TLS context of every client :func:`make_client` builds
(guarded or not): httpx's default (certifi's CA bundle, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` where the environment is trusted), made once per process and reading its
CA certificates at the first TLS handshake. Reading them costs ~15 ms of CPU and ~1 MB per
context; a ``run --once`` over plain-HTTP or unchanged feeds never pays for it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

import httpcore
import httpx

from monitor.errors import FetchError
from monitor.ingest.httppool import LinearPool
from monitor.ingest.urlguard import METADATA, Address, blocked_reason, check_url_for

__all__ = [
    "ALLOW_PRIVATE_HOST",
    "METADATA",
    "GuardedTransport",
    "blocked_reason",
    "lazy_tls_context",
]

ALLOW_PRIVATE_HOST = "monitor.allow_private_host"


async def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
    seen: dict[Address, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), None)
    return list(seen)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, then connects to the IP."""

    def __init__(self, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None):
        self.allow_private = allow_private
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first address of ``host``, all of which must pass the check."""
        addresses = await resolve(host, port)
        for ip in addresses:
            reason = blocked_reason(ip, allow_private=self.allow_private)
            if reason:
                raise FetchError("blocked", f"{host} resolves to {ip}, a {reason}: refused")
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
                return _Stream(stream)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        """Unix sockets are never used for feeds."""
        raise FetchError("blocked", "unix sockets are refused")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the inner backend."""
        await self.inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """A connection whose "is it readable?" costs one poll(2).

    httpcore asks every pooled connection that question each time it assigns a
    request; AnyIO answers it by building a dict of every socket attribute first
    (``getpeername`` included), which was most of the event loop's time per poll.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Delegate to the inner stream."""
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Delegate to the inner stream."""
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        """Delegate to the inner stream."""
        await self.inner.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        """TLS over the same socket (the readable check still polls that socket)."""
        return _Stream(await self.inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        """``is_readable`` from the socket itself; anything else from the inner stream."""
        if info == "is_readable" and self._socket is not None:
            fd = self._socket.fileno()
            if fd < 0:
                return True  # closed: the next read returns b"", as httpcore expects
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        return self.inner.get_extra_info(info)


def _guarded_transport(allow_private: bool, verify: Any, limits: httpx.Limits) -> Any:
    transport = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, limits=limits)
    transport._pool = LinearPool(  # the seam httpx offers no argument for
        ssl_context=transport._pool._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(allow_private=allow_private),
    )
    return transport


class GuardedTransport(httpx.AsyncBaseTransport):
    """Routes each request to the strict or the permissive guarded pool."""

    def __init__(self, *, verify: Any = True, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._strict = _guarded_transport(False, verify, limits)
        self._private = _guarded_transport(True, verify, limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check ``request``'s URL (:func:`check_url_for`), then send it through the
        pool its allowance selects; raise FetchError when the URL is refused."""
        allowed = request.extensions.get(ALLOW_PRIVATE_HOST)
        check_url_for(str(request.url), allowed)
        host = request.url.host.rstrip(".")
        transport = self._private if allowed and allowed == host else self._strict
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Close both pools."""
        await self._strict.aclose()
        await self._private.aclose()


class _LazyTrustContext(ssl.SSLContext):
    """httpx's default client context, whose CA certificates are read at the first
    handshake (``wrap_bio``: asyncio and anyio; ``wrap_socket``: blocking sockets)."""

    trust_env: bool
    _ca_lock: threading.Lock
    _ca_loaded: bool

    def _load_ca(self) -> None:
        with self._ca_lock:
            if self._ca_loaded:
                return
            if self.trust_env and os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif self.trust_env and os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                import certifi

                self.load_verify_locations(cafile=certifi.where())
            self._ca_loaded = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        """:meth:`ssl.SSLContext.wrap_bio`, after reading the CA certificates once."""
        self._load_ca()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """:meth:`ssl.SSLContext.wrap_socket`, after reading the CA certificates once."""
        self._load_ca()
        return super().wrap_socket(*args, **kwargs)


@cache
def lazy_tls_context(trust_env: bool) -> ssl.SSLContext:
    """The process's client TLS context: certificates and host names verified against
    certifi's CA bundle (with ``trust_env``, ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when
    set, as httpx does), read at the first handshake. One per ``trust_env``, shared by
    every client (a context holds no per-connection state)."""
    context = _LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    context.trust_env = trust_env
    context._ca_lock = threading.Lock()
    context._ca_loaded = False
    if trust_env and (keylog := os.environ.get("SSLKEYLOGFILE")):  # as create_default_context
        context.keylog_filename = keylog
    return context
