"""Lenient, bounded content decoding (monitor.ingest.decode): what a browser would read."""

from __future__ import annotations

import gzip
import zlib

import pytest

from monitor.ingest.decode import (
    BoundedDecoder,
    CorruptBody,
    TooLarge,
    UnsupportedEncoding,
    decode_bounded,
    is_identity_alias,
)

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def feed_in_chunks(decoder: BoundedDecoder, data: bytes, size: int) -> bytes:
    for start in range(0, len(data), size):
        decoder.feed(data[start : start + size])
    return decoder.body()


@pytest.mark.parametrize(
    "name", ["utf-8", "utf8", "iso-8859-1", "latin1", "windows-1251", "us-ascii", "text/xml"]
)
def test_charsets_and_media_types_are_identity_aliases(name):
    assert is_identity_alias(name)


@pytest.mark.parametrize("name", ["binary", "7bit", "8bit", "none"])
def test_mime_transfer_encodings_for_no_coding_are_identity_aliases(name):
    assert is_identity_alias(name)


@pytest.mark.parametrize(
    "name", ["br", "zstd", "compress", "x-compress", "foo", "zlib", "bz2", "base64", "hex", "rot13"]
)
def test_compressions_and_bytes_codecs_are_not(name):
    assert not is_identity_alias(name)


@pytest.mark.parametrize("header", ["UTF-8", "utf8", " ISO-8859-1 ", "text/xml", "binary"])
def test_a_charset_as_content_encoding_reads_the_body_as_is(header):
    decoder = BoundedDecoder(header, 10_000)
    assert feed_in_chunks(decoder, FEED, 7) == FEED
    assert decoder.ignored == [header.strip().lower()]


def test_a_charset_beside_gzip_is_ignored_and_gzip_decoded():
    decoder = BoundedDecoder("gzip, UTF-8", 10_000)
    assert feed_in_chunks(decoder, gzip.compress(FEED), 5) == FEED
    assert decoder.ignored == ["utf-8"]


@pytest.mark.parametrize("header", ["br", "zstd", "compress", "foo", "gzip, br"])
def test_codings_we_did_not_ask_for_stay_errors(header):
    with pytest.raises(UnsupportedEncoding):
        BoundedDecoder(header, 10)


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_gzip_without_content_encoding_is_sniffed_in_any_chunking(chunk):
    decoder = BoundedDecoder(None, 10_000)
    assert feed_in_chunks(decoder, gzip.compress(FEED), chunk) == FEED
    assert decoder.sniffed_gzip


def test_gzip_inside_gzip_is_inflated_twice():
    assert decode_bounded(gzip.compress(gzip.compress(FEED)), "gzip", 10_000) == FEED


def test_a_body_shorter_than_the_magic_and_a_plain_body_are_kept():
    assert decode_bounded(b"<a", None, 10) == b"<a"
    assert decode_bounded(b"", None, 10) == b""
    decoder = BoundedDecoder(None, 10_000)
    assert feed_in_chunks(decoder, FEED, 1) == FEED and not decoder.sniffed_gzip


def test_an_undeclared_gzip_bomb_stops_at_the_cap():
    bomb = gzip.compress(b"\0" * 50_000_000)
    decoder = BoundedDecoder(None, 1_000_000)
    with pytest.raises(TooLarge):
        feed_in_chunks(decoder, bomb, 65536)
    assert decoder.size <= 1_000_000


def test_the_cap_counts_a_plain_body():
    with pytest.raises(TooLarge):
        decode_bounded(b"x" * 101, None, 100)
    assert decode_bounded(b"x" * 100, None, 100) == b"x" * 100


@pytest.mark.parametrize("header", ["gzip", "x-gzip", "deflate"])
def test_a_body_not_in_its_declared_coding_is_corrupt(header):
    with pytest.raises(CorruptBody, match=f"not valid {header} data"):
        decode_bounded(FEED, header, 10_000)


def test_deflate_is_read_raw_or_zlib_wrapped():
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_bounded(raw.compress(FEED) + raw.flush(), "deflate", 10_000) == FEED
    assert decode_bounded(zlib.compress(FEED), "deflate", 10_000) == FEED
