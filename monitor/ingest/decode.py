"""Bounded, incremental content decoding (gzip, deflate, identity).

httpx's own decoders inflate a whole network chunk at once, so a 64 KB chunk of a
gzip bomb can become hundreds of megabytes before any cap is checked. Here the raw
bytes (``response.aiter_raw()``) are inflated with zlib's ``max_length``: never more
than the room left under the cap (plus one byte, to notice the overflow) is
produced, whatever the compression ratio.
"""

from __future__ import annotations

import zlib

# What we ask for; brotli/zstd are not requested, so a server sending them anyway
# is answered with an error rather than a decoder we cannot bound.
ACCEPT_ENCODING = "gzip, deflate"


class TooLarge(Exception):
    """The decoded body grew past the cap."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding we did not ask for and cannot decode with a bound."""


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
            except zlib.error:
                if self.raw_fallback and not self.started:
                    self.raw_fallback = False
                    self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
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
    """Decodes a body chunk by chunk, raising TooLarge past ``max_bytes`` decoded."""

    def __init__(self, content_encoding: str | None, max_bytes: int) -> None:
        names = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
        names = [n for n in names if n != "identity"]
        for name in names:
            if name not in ("gzip", "x-gzip", "deflate"):
                raise UnsupportedEncoding(name)
        # Encodings are listed in the order applied: decode in reverse.
        self._stages = [_Inflater(n) for n in reversed(names)]
        self.max_bytes = max_bytes
        self.size = 0
        self._chunks: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        """Decode one raw chunk and keep the result; raise TooLarge over the cap."""
        data = raw
        for stage in self._stages:
            data = stage.feed(data, self.max_bytes - self.size)
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge
        self._chunks.append(data)

    def body(self) -> bytes:
        """Everything decoded so far."""
        return b"".join(self._chunks)
