"""A TCP port on 127.0.0.1 relayed to the test PostgreSQL's unix socket (the server
listens on no TCP port), so that a connection goes over TCP as to a remote database,
and can be cut, as a network or the database host going away would, and mended."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

from tests.pgserver import PgServer


class TcpRelay:
    """127.0.0.1:``port`` relayed to ``unix_path``; :meth:`cut` refuses and drops every
    connection until :meth:`mend`."""

    def __init__(self, unix_path: Path) -> None:
        self.unix_path = str(unix_path)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._serve()

    @classmethod
    def to(cls, pg_server: PgServer) -> TcpRelay:
        """A relay to the test server's socket."""
        (socket_file,) = (p for p in pg_server.socket_dir.glob(".s.PGSQL.*") if p.suffix != ".lock")
        return cls(socket_file)

    def url(self, pg_url: str) -> str:
        """``pg_url`` (the test server's, over its socket) over this relay instead."""
        params = conninfo_to_dict(pg_url)
        return f"postgresql://{quote(params['user'])}@127.0.0.1:{self.port}/{params['dbname']}"

    def _serve(self) -> None:
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.unix_path)
            with self._lock:
                self._open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """Refuse new connections and drop the open ones (both ends see them close)."""
        with contextlib.suppress(OSError):  # wakes the accept() blocked on it (Linux)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self._lock:
            dropped, self._open = self._open, set()
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def mend(self) -> None:
        """Accept connections on the same port again."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._serve()

    def close(self) -> None:
        """Stop relaying (as :meth:`cut`, for good)."""
        self.cut()
