"""Destinations that never finish, as raw TCP servers on 127.0.0.1 (issue #14 point 6).

Each connection runs ``handler(conn, stop)`` in its own thread until the handler
returns, the client goes away or the server is closed:

- :func:`trickle`: accepts and sends one byte every ``pause`` seconds, never a whole
  line (an SMTP greeting or HTTP status line that never ends): a per-read timeout
  never fires.
- :func:`endless_body`: reads the request, answers ``200`` and a chunked body that
  never ends.
- :func:`silent`: accepts, reads and never answers.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A threaded TCP server; ``connections`` counts the clients it accepted, ``finished``
    those whose handler ended (the client went away)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.finished = 0
        self.stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/") -> str:
        """``http://127.0.0.1:PORT/path``."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._sock.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self.stop)
        except OSError:
            pass  # the client gave up (its deadline): expected
        finally:
            conn.close()
            self.finished += 1


def trickle(pause: float = 0.2, byte: bytes = b"2") -> Handler:
    """Send ``byte`` every ``pause`` seconds, forever; never a line end."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(pause)
        while not stop.is_set():
            try:
                if not conn.recv(65536):
                    return  # the client closed its side
            except TimeoutError:
                pass
            conn.sendall(byte)

    return handler


def endless_body(chunk: int = 16 * 1024, pause: float = 0.01) -> Handler:
    """Answer ``200`` with a chunked body of ``chunk``-byte chunks that never ends."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        _read_headers(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
        conn.sendall(b"Transfer-Encoding: chunked\r\n\r\n")
        data = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
        while not stop.is_set():
            conn.sendall(data)
            stop.wait(pause)

    return handler


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Read what comes and never answer."""
    conn.settimeout(0.2)
    while not stop.is_set():
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue


def _read_headers(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            raise OSError("client closed")
        data += more
