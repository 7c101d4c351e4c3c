"""Bounded, incremental content decoding (gzip, deflate, identity), lenient like a browser.

httpx's own decoders inflate a whole network chunk at once, so a 64 KB chunk of a
gzip bomb can become hundreds of megabytes before any cap is checked. Here the raw
bytes (``response.aiter_raw()``) are inflated with zlib's ``max_length``: never more
than the room left under the cap (plus one byte, to notice the overflow) is
produced, whatever the compression ratio.

What is read, and why (the rules of browsers, which readers compare us with):

- ``gzip``/``x-gzip``, ``deflate`` (zlib or raw) and ``identity`` are decoded;
- a *charset* given as a coding (``Content-Encoding: UTF-8``, ``utf8``,
  ``iso-8859-1``), a media type (``text/xml``) or a MIME transfer encoding
  (``binary``, ``8bit``) is a server misconfiguration, not a compression: Chromium
  and Firefox pass unknown codings through as identity, so we read those as
  identity too (:attr:`BoundedDecoder.ignored` lists them, for one log line);
- any other coding (``br``, ``zstd``, ``compress``, ``foo``) stays an error
  (:class:`UnsupportedEncoding`): we did not ask for it, and its bytes are not the
  document, so passing them through would only turn a clear error into "not a feed";
- a body that starts with the gzip magic bytes after the declared decoding (no
  ``Content-Encoding`` at all, or gzip twice, as a server that gzips a stored
  ``.gz`` file again sends) is inflated once more, with the same bound; a feed
  (XML or JSON) can never start with those bytes.
"""

from __future__ import annotations

import codecs
import re
import zlib

# What we ask for; brotli/zstd are not requested, so a server sending them anyway
# is answered with an error rather than a decoder we cannot bound.
ACCEPT_ENCODING = "gzip, deflate"
GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, CM=deflate (RFC 1952, 2.3.1)
DECODED = ("gzip", "x-gzip", "deflate")
# MIME Content-Transfer-Encoding values meaning "not encoded" (RFC 2045, 6.1).
_TRANSFER_IDENTITY = frozenset({"binary", "7bit", "8bit", "none"})
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(;.*)?")


class TooLarge(Exception):
    """The decoded body grew past the cap."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding we did not ask for and cannot decode with a bound."""


class CorruptBody(Exception):
    """The body is not in the coding it was declared (or sniffed) to be in."""

    def __init__(self, encoding: str, reason: str) -> None:
        super().__init__(f"body is not valid {encoding} data ({reason})")
        self.encoding = encoding


def is_identity_alias(name: str) -> bool:
    """True when a Content-Encoding ``name`` is a misconfigured "no coding" to read as identity.

    ``name`` is lower-case. A charset known to Python's codecs (text encodings only:
    ``base64``, ``zlib``, ``hex`` and other bytes-to-bytes codecs are *not* charsets),
    a media type such as ``text/xml``, or ``binary``/``7bit``/``8bit``/``none``.
    Browsers pass such codings through unchanged (Chromium: an unknown
    Content-Encoding is passed through raw; Firefox ignores unknown codings).
    """
    if name in _TRANSFER_IDENTITY or _MEDIA_TYPE.fullmatch(name):
        return True
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return bool(getattr(info, "_is_text_encoding", True))


class _Inflater:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.raw_fallback = encoding == "deflate"  # "deflate" is often raw deflate
        wbits = zlib.MAX_WBITS | 32 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.inflater = zlib.decompressobj(wbits)
        self.started = False

    def feed(self, data: bytes, room: int) -> bytes:
        out = []
        while data:
            try:
                piece = self.inflater.decompress(data, room + 1)
            except zlib.error as exc:
                if self.raw_fallback and not self.started:
                    self.raw_fallback = False
                    self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise CorruptBody(self.encoding, str(exc)) from None
            self.started = True
            out.append(piece)
            room -= len(piece)
            if room < 0:
                raise TooLarge
            data = self.inflater.unconsumed_tail
            if self.inflater.eof:
                break
        return b"".join(out)


class BoundedDecoder:
    """Decodes a body chunk by chunk, raising TooLarge past ``max_bytes`` decoded.

    ``content_encoding`` is the response's header (None when absent); ``max_bytes``
    is the cap on the decoded body, in bytes. Raises :class:`UnsupportedEncoding`
    (at construction) for a coding we neither decode nor read as identity,
    :class:`CorruptBody` when the bytes are not in their coding, and
    :class:`TooLarge`. See the module docstring for what is read leniently.
    """

    def __init__(self, content_encoding: str | None, max_bytes: int) -> None:
        names = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
        self.ignored: list[str] = []  # codings read as identity (charset names and the like)
        stages: list[str] = []
        for name in names:
            if name in DECODED:
                stages.append(name)
            elif name == "identity" or is_identity_alias(name):
                if name != "identity":
                    self.ignored.append(name)
            else:
                raise UnsupportedEncoding(name)
        # Encodings are listed in the order applied: decode in reverse.
        self._stages = [_Inflater(n) for n in reversed(stages)]
        self.compressed = bool(self._stages)  # a declared coding is inflated
        self.sniffed_gzip = False  # set when an undeclared gzip layer was found
        self._head = b""  # decoded bytes held until the gzip magic can be checked
        self._sniffing = True
        self.max_bytes = max_bytes
        self.size = 0
        self._chunks: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        """Decode one raw chunk and keep the result; raise TooLarge over the cap."""
        data = raw
        for stage in self._stages:
            data = stage.feed(data, self.max_bytes - self.size)
        if self._sniffing:
            self._head += data
            if len(self._head) < len(GZIP_MAGIC):
                return
            data, self._head, self._sniffing = self._head, b"", False
            if data.startswith(GZIP_MAGIC):
                self.sniffed_gzip = True
                self._stages.append(_Inflater("gzip"))
                data = self._stages[-1].feed(data, self.max_bytes - self.size)
        self._keep(data)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge
        self._chunks.append(data)

    def body(self) -> bytes:
        """Everything decoded so far (a body shorter than the gzip magic included)."""
        if self._head:
            self._keep(self._head)
            self._head = b""
        return b"".join(self._chunks)


def decode_bounded(data: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """All of ``data`` through a :class:`BoundedDecoder` (a ``file:`` read, a test)."""
    decoder = BoundedDecoder(content_encoding, max_bytes)
    decoder.feed(data)
    return decoder.body()
