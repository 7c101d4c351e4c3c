"""Real servers on 127.0.0.1 for tests: an SMTP sink and a small HTTP server.

Both are context managers that start in the background and stop on exit::

    with SmtpSink() as smtp, HttpServer() as http:
        http.route("/feed.xml", FEED_BYTES)          # GET, with ETag / 304
        http.respond_post("/hook", (503, {"Retry-After": "7"}, b"busy"), (200, {}, b"ok"))
        ...
        assert smtp.messages[0]["Subject"] == "..."
        assert http.requests[-1].method == "POST"
"""

from __future__ import annotations

import email.policy
import hashlib
import mimetypes
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

Response = tuple[int, dict[str, str] | None, bytes | str]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition: threading.Condition, predicate: Any, timeout: float) -> bool:
    with condition:
        return condition.wait_for(predicate, timeout)


@dataclass
class Envelope:
    """What the SMTP client said outside the message: MAIL FROM and RCPT TO."""

    mail_from: str
    rcpt_tos: list[str]


class SmtpSink:
    """An aiosmtpd server that keeps every message (plain SMTP, no TLS, no AUTH).

    ``messages`` are parsed with ``email.policy.default``; ``envelopes[i]`` holds the
    envelope of ``messages[i]`` (also set as ``messages[i].envelope_rcpt``). Set
    ``fail_with = (451, "4.3.0 try later")`` to make DATA fail with that answer.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.fail_with: tuple[int, str] | None = None
        self.port = 0
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd hook: record the message, or answer ``fail_with``."""
        if self.fail_with is not None:
            code, text = self.fail_with
            return f"{code} {text}"
        data = envelope.original_content or envelope.content
        message = BytesParser(policy=email.policy.default).parsebytes(data)
        message.envelope_rcpt = list(envelope.rcpt_tos)  # type: ignore[attr-defined]
        with self._changed:
            self.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(message)  # type: ignore[arg-type]
            self._changed.notify_all()
        return "250 2.0.0 Ok: queued"

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` messages arrived (False on timeout)."""
        return _wait(self._changed, lambda: len(self.messages) >= count, timeout)

    def __enter__(self) -> SmtpSink:
        for _ in range(5):  # the free port can be taken in between: retry
            self.port = free_port()
            controller = Controller(self, hostname="127.0.0.1", port=self.port)
            try:
                controller.start()
            except Exception:  # pragma: no cover - port race
                time.sleep(0.05)
                continue
            self._controller = controller
            return self
        raise RuntimeError("could not start the SMTP sink")

    def __exit__(self, *exc: object) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class RecordedRequest:
    """One request the HTTP server received; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _content_type(path: str, body: bytes) -> str:
    guessed = mimetypes.guess_type(path.split("?", 1)[0])[0]
    if guessed:
        return guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")
    head = body.lstrip()[:200].lower()
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")):
        return "application/xml"
    if head.startswith(b"<"):
        return "text/html; charset=utf-8"
    if head.startswith((b"{", b"[")):
        return "application/json"
    return "application/octet-stream"


def _etag_matches(if_none_match: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class HttpServer:
    """A threaded HTTP/1.1 server with static GET routes and scripted POST answers.

    GET/HEAD of a ``route`` answers its body with an ``ETag`` (sha1 of the body) and
    ``304`` when ``If-None-Match`` matches; unknown paths are 404. POSTs (and PUTs)
    are answered from the queue given to ``respond_post`` (the last answer repeats),
    else ``200 ok``. Every request is appended to ``requests``.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        self._posts: dict[str, list[Response]] = {}
        self._streams: dict[str, tuple[int, dict[str, str], Any, float]] = {}
        self._changed = threading.Condition()
        self._request = threading.local()  # the body of the POST being answered
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    def route(
        self,
        path: str,
        body: bytes | str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Serve ``body`` for GET ``path`` (exact, query included or not); replaces."""
        data = body.encode() if isinstance(body, str) else body
        with self._changed:
            self._routes[path] = (status, dict(headers or {}), data, delay)

    def route_stream(
        self,
        path: str,
        chunks: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        interval: float = 0.0,
    ) -> None:
        """Serve GET ``path`` from ``chunks()`` (an iterable, may be endless), one
        chunk every ``interval`` seconds, without Content-Length (connection closes).

        Slowloris: ``route_stream(p, lambda: iter([b"x"] * 100), interval=1)``.
        """
        with self._changed:
            self._streams[path] = (status, dict(headers or {}), chunks, interval)

    def _stream_for(self, path: str) -> tuple[int, dict[str, str], Any, float] | None:
        with self._changed:
            return self._streams.get(path) or self._streams.get(path.split("?", 1)[0])

    def respond_post(self, path: str, *responses: Response | Any) -> None:
        """Answer POSTs to ``path`` with ``(status, headers, body)`` in turn; last repeats.

        A response may also be a function of the request body returning one (e.g. a
        receiver that answers 413 above some size).
        """
        with self._changed:
            self._posts[path] = list(responses)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests whose path (without query) is ``path``."""
        with self._changed:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests arrived (False on timeout)."""
        return _wait(self._changed, lambda: len(self.requests) >= count, timeout)

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _get(self, path: str, if_none_match: str | None) -> tuple[int, dict[str, str], bytes]:
        with self._changed:
            route = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
        if route is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        status, headers, body, delay = route
        if delay:
            time.sleep(delay)
        headers = {"Content-Type": _content_type(path, body), **headers}
        if status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            headers.setdefault("ETag", etag)
            if if_none_match and _etag_matches(if_none_match, headers["ETag"]):
                return 304, {"ETag": headers["ETag"]}, b""
        return status, headers, body

    def _post(self, path: str) -> tuple[int, dict[str, str], bytes]:
        request_body = getattr(self._request, "body", b"")  # set by the handler's thread
        with self._changed:
            queue = self._posts.get(path) or self._posts.get(path.split("?", 1)[0])
            if not queue:
                return 200, {"Content-Type": "text/plain"}, b"ok"
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        status, headers, body = answer(request_body) if callable(answer) else answer
        data = body.encode() if isinstance(body, str) else body
        return status, {"Content-Type": "text/plain", **(headers or {})}, data

    def __enter__(self) -> HttpServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A connection reset between the selector's "readable" and accept() would block
        # a blocking accept() until the next client, and shutdown() with it: never block.
        self._server.socket.setblocking(False)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler_for(owner: HttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and status not in (204, 304):
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a size cap): expected

        def _stream(self, status: int, headers: dict[str, str], chunks: Any, pause: float) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/xml", **headers}.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in chunks():
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if pause:
                        time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (deadline or size cap): expected

        def _handle(self) -> None:
            body = self._body()
            headers = {k.lower(): v for k, v in self.headers.items()}
            owner._record(RecordedRequest(self.command, self.path, headers, body))
            stream = owner._stream_for(self.path) if self.command == "GET" else None
            if stream is not None:
                self._stream(*stream)
            elif self.command in ("GET", "HEAD"):
                self._answer(*owner._get(self.path, headers.get("if-none-match")))
            else:
                owner._request.body = body
                self._answer(*owner._post(self.path))

        do_GET = do_HEAD = do_POST = do_PUT = _handle  # noqa: N815

    return Handler
