"""Reading a fetched answer's body into bytes within its cap (``max_bytes``).

The cap counts the body after decompression: a ``Content-Length`` over it is refused
before reading, and the body is inflated incrementally
(:class:`~monitor.ingest.decode.BoundedDecoder`), so a small compressed answer cannot
grow past it. Transport is read leniently, like a browser: a charset sent as
``Content-Encoding`` (``UTF-8``) is read as identity with one log line, a gzip body
without ``Content-Encoding`` is inflated; ``br``, ``zstd`` and other codings we did not
ask for, and a body that is not in its declared coding, are a FetchError. An error for
a body over the cap names the setting to raise (``defaults.max_bytes`` for feeds).
"""

from __future__ import annotations

import logging

import httpx

from monitor.errors import FetchError
from monitor.ingest.decode import (
    ACCEPT_ENCODING,
    BoundedDecoder,
    CorruptBody,
    TooLarge,
    UnsupportedEncoding,
)
from monitor.redact import redact_url

MAX_BYTES_SETTING = "defaults.max_bytes"  # the setting that sets a feed's max_bytes

log = logging.getLogger("monitor.ingest.fetch")  # these are the fetch's log lines


async def read_body(
    response: httpx.Response, url: str, max_bytes: int, limit_setting: str
) -> bytes:
    """The body of ``response`` (for ``url``, named redacted in errors and logs), inflated
    as its ``Content-Encoding`` says, at most ``max_bytes`` bytes after decompression.

    Raises FetchError: kind ``too_large`` (naming ``limit_setting``, the config key the
    cap came from) for a body over the cap, declared or read; kind ``http`` for a coding
    we did not ask for or a body that does not decode. httpx's errors while reading
    (timeouts, a dropped connection) are raised as they are.
    """
    shown = redact_url(url)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large_error(f"{shown}: body of {declared} bytes", max_bytes, limit_setting)
    encoding = response.headers.get("Content-Encoding")
    try:
        decoder = BoundedDecoder(encoding, max_bytes)
        if decoder.ignored:
            log.info(
                "%s: Content-Encoding %r is not a coding (a charset or the like); "
                "read as identity, as browsers do",
                shown,
                ", ".join(decoder.ignored),
            )
        async for raw in response.aiter_raw():
            decoder.feed(raw)
        body = decoder.body()
    except UnsupportedEncoding as exc:
        raise FetchError(
            "http", f"{shown}: unsupported Content-Encoding {exc} (we ask for {ACCEPT_ENCODING})"
        ) from None
    except TooLarge:
        inflated = decoder.compressed or decoder.sniffed_gzip
        note = " after decompression" if inflated else ""
        raise too_large_error(f"{shown}: body", max_bytes, limit_setting, note) from None
    except CorruptBody as exc:
        said = f" (Content-Encoding: {encoding})" if encoding else ""
        raise FetchError("http", f"{shown}: cannot decode the body: {exc}{said}") from None
    if decoder.sniffed_gzip:
        log.debug("%s: gzip body without a Content-Encoding for it; inflated", shown)
    return body


def too_large_error(what: str, max_bytes: int, setting: str, note: str = "") -> FetchError:
    """The ``too_large`` error for ``what`` (a body, a file, standard input): the cap in
    bytes and MiB, and the setting (``setting``) to raise to accept it."""
    return FetchError(
        "too_large",
        f"{what} is over the {max_bytes}-byte limit ({max_bytes / 2**20:.4g} MiB){note};"
        f" raise {setting} to accept it",
    )
