"""Address classification of the SSRF guard, and bounded decompression."""

from __future__ import annotations

import gzip
import ipaddress
import zlib

import pytest

from monitor.ingest.decode import BoundedDecoder, TooLarge, UnsupportedEncoding
from monitor.ingest.netguard import blocked_reason


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "2002:7f00:1::",
        "ff02::1",
    ],
)
def test_non_public_addresses_are_blocked(address):
    assert blocked_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_allow_private_still_refuses_cloud_metadata():
    allow = {"allow_private": True}
    assert blocked_reason(ipaddress.ip_address("127.0.0.1"), **allow) is None
    assert blocked_reason(ipaddress.ip_address("10.0.0.1"), **allow) is None
    assert blocked_reason(ipaddress.ip_address("169.254.169.254"), **allow)
    assert blocked_reason(ipaddress.ip_address("fd00:ec2::254"), **allow)


def chunks(data: bytes, size: int = 65536):
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send
        (None, lambda d: d),
        ("identity", lambda d: d),
    ],
)
def test_decoder_round_trips(encoding, pack):
    data = b"<rss>" + b"news " * 50_000 + b"</rss>"
    decoder = BoundedDecoder(encoding, len(data))
    for chunk in chunks(pack(data)):
        decoder.feed(chunk)
    assert decoder.body() == data


def test_decoder_stops_a_bomb_without_inflating_it():
    bomb = gzip.compress(b"\0" * 200_000_000)  # ~200 KB on the wire
    decoder = BoundedDecoder("gzip", 1_000_000)
    with pytest.raises(TooLarge):
        for chunk in chunks(bomb):
            decoder.feed(chunk)
    assert decoder.size <= 1_000_000  # nothing past the cap was ever kept


def test_unrequested_encodings_are_refused():
    with pytest.raises(UnsupportedEncoding):
        BoundedDecoder("br", 10)


def test_remembered_checks_answer_as_the_first_time():
    """check_form and url_host are remembered per URL (a poll checks its URL twice):
    a refused URL is refused every time, a good one keeps its host."""
    from monitor.errors import FetchError
    from monitor.ingest.urlguard import check_form, url_host

    for _ in range(2):
        with pytest.raises(FetchError, match="written in another notation"):
            check_form("http://0x7f.1/feed")
        assert check_form("https://News.Example./feed") == "news.example"
        assert url_host("https://News.Example./feed") == "news.example"
    assert check_form.cache_info().hits >= 1
