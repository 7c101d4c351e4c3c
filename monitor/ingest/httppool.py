"""httpcore's connection pool, with its per-request bookkeeping made linear.

httpcore 1.0 re-examines the whole pool every time a request is queued or a
response closes (``_assign_requests_to_connections``, ~5 times a request), and for
each idle connection it counts *every* connection in the pool to decide whether that
idle one is surplus (``len([c.is_idle() for c in connections])``: the length of the
list, not the number of idle ones). That is quadratic in the pool size, and it closes
an idle connection as soon as the pool holds more than ``max_keepalive_connections``
connections, busy or not. It also asks every idle connection whether the server
closed it (a ``poll(2)`` of its socket, ``has_expired``) at each of those passes:
~60 system calls a request with 16 polls at once, a fifth of a fetch's CPU time.

:class:`LinearPool` counts the idle connections once, drops connections whose
keep-alive ran out by their time alone, and asks whether the server closed an idle
connection only when it is about to be given a request (closing it then, and trying
the next). The rest is as httpcore has it: reuse an available connection, else open
one while under ``max_connections``, else replace an idle one. A connection given to
a request that has not started on it yet is not given to another, nor closed as a
surplus idle one (httpcore gave the first available connection to every queued
request until one started, and the others came back with ``ConnectionNotAvailable``
to queue again: ~2 such rounds a request): the client speaks HTTP/1.1 only.

A server may close an idle keep-alive connection just after the check above said it
was open (its keep-alive timeout racing our request). A GET or HEAD that fails on a
*reused* connection before any response arrives is then sent once more on another
connection (:class:`ReusedConnectionRetry`), as Go's ``net/http`` Transport does for
idempotent requests (``shouldRetryRequest``) and urllib3 does by default; a failure
on a fresh connection is the server's answer and is raised.
"""

from __future__ import annotations

import time
from typing import Any

import httpcore

RETRY_METHODS = (b"GET", b"HEAD")
LOST_CONNECTION = (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError)


class ReusedConnectionRetry(httpcore.AsyncHTTPConnection):
    """A direct connection that hands an idempotent request back to the pool when the
    server had already closed it: the pool then sends it on another connection."""

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        """Send ``request``; raise ``ConnectionNotAvailable`` (the pool's signal to try
        another connection) if this connection served a request before and now fails
        before a response, for GET and HEAD only."""
        reused = getattr(self._connection, "_request_count", 0) > 0
        try:
            return await super().handle_async_request(request)
        except LOST_CONNECTION:
            if reused and request.method in RETRY_METHODS:
                raise httpcore.ConnectionNotAvailable() from None
            raise


class LinearPool(httpcore.AsyncConnectionPool):
    """:class:`httpcore.AsyncConnectionPool` whose request assignment is O(pool size)."""

    def create_connection(self, origin: httpcore.Origin) -> Any:
        """A :class:`ReusedConnectionRetry` to ``origin`` (as httpcore builds its own
        connection); through a proxy, httpcore's proxy connection."""
        if self._proxy is not None:
            return super().create_connection(origin)
        return ReusedConnectionRetry(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )

    def _assign_requests_to_connections(self) -> list[Any]:
        """Drop closed, expired and surplus idle connections; give queued requests one."""
        closing: list[Any] = []
        now = time.monotonic()
        # Given to a request that has not started on it yet (it still looks idle and
        # available) or serving one: HTTP/1.1, one request at a time.
        taken = {id(r.connection) for r in self._requests if r.connection is not None}
        kept: list[Any] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if _timed_out(connection, now):
                closing.append(connection)
            else:
                kept.append(connection)
        idle = [c for c in kept if c.is_idle() and id(c) not in taken]
        for connection in idle[: max(len(idle) - self._max_keepalive_connections, 0)]:
            kept.remove(connection)
            closing.append(connection)
        self._connections = kept

        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            available = self._available(origin, closing, taken)
            if available is not None:
                taken.add(id(available))
                pool_request.assign_to_connection(available)
                continue
            if len(self._connections) >= self._max_connections:
                spare = next(
                    (c for c in self._connections if c.is_idle() and id(c) not in taken), None
                )
                if spare is None:
                    continue  # stays queued until a connection is released
                self._connections.remove(spare)
                closing.append(spare)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            taken.add(id(connection))
            pool_request.assign_to_connection(connection)
        return closing

    def _available(self, origin: Any, closing: list[Any], taken: set[int]) -> Any | None:
        """The first connection not in ``taken`` (ids) that can take a request to
        ``origin`` now; an idle one the server has closed meanwhile (``has_expired``) is
        moved to ``closing``."""
        for connection in list(self._connections):
            if id(connection) in taken:
                continue
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


def _timed_out(connection: Any, now: float) -> bool:
    """Whether ``connection`` must go without asking its socket: its keep-alive time
    ran out (an HTTP/1.1 connection's ``_expire_at``), or, for any other kind (one
    still connecting, a failed one), what its own ``has_expired`` says."""
    inner = getattr(connection, "_connection", None)
    expire_at = getattr(inner, "_expire_at", False)
    if expire_at is False:  # not an HTTP/1.1 connection of httpcore 1.0: ask it
        return connection.has_expired()
    return expire_at is not None and now > expire_at
