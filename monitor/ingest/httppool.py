"""httpcore's connection pool, with its per-request bookkeeping made linear.

httpcore 1.0 re-examines the whole pool every time a request is queued or a
response closes (``_assign_requests_to_connections``), and for each idle
connection it counts *every* connection in the pool to decide whether that idle
one is surplus (``len([c.is_idle() for c in connections])``: the length of the list,
not the number of idle ones). That is quadratic in the pool size, and it closes an
idle connection as soon as the pool holds more than ``max_keepalive_connections``
connections, busy or not. :class:`LinearPool` counts the idle connections once
and keeps the rest of the method as httpcore has it (reuse an available
connection, else open one while under ``max_connections``, else replace an idle
one); with 16 polls at once this was a third of the event loop's time per poll.
"""

from __future__ import annotations

from typing import Any

import httpcore


class LinearPool(httpcore.AsyncConnectionPool):
    """:class:`httpcore.AsyncConnectionPool` whose request assignment is O(pool size)."""

    def _assign_requests_to_connections(self) -> list[Any]:
        """Drop closed, expired and surplus idle connections; give queued requests one."""
        closing: list[Any] = []
        idle = sum(1 for connection in self._connections if connection.is_idle())
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired():
                idle -= connection.is_idle()
                self._connections.remove(connection)
                closing.append(connection)
            elif connection.is_idle() and idle > self._max_keepalive_connections:
                idle -= 1
                self._connections.remove(connection)
                closing.append(connection)

        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            available = next(
                (c for c in self._connections if c.can_handle_request(origin) and c.is_available()),
                None,
            )
            if available is not None:
                pool_request.assign_to_connection(available)
                continue
            if len(self._connections) >= self._max_connections:
                spare = next((c for c in self._connections if c.is_idle()), None)
                if spare is None:
                    continue  # stays queued until a connection is released
                self._connections.remove(spare)
                closing.append(spare)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing
