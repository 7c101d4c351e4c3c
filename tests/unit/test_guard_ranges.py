"""The SSRF rule (monitor.ingest.urlguard): metadata endpoints in every notation, with
private networks allowed; the one host that may be private; URLs we cannot send."""

from __future__ import annotations

import ipaddress

import pytest

from monitor.errors import FetchError
from monitor.ingest.urlguard import blocked_reason, check_url, ipv4_any_notation, shown_url

METADATA_V4 = ["169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200"]


def notations(dotted: str) -> dict[str, str]:
    """``dotted`` as a host in every notation a browser or inet_aton(3) reads."""
    a, b, c, d = (int(x) for x in dotted.split("."))
    number = int(ipaddress.IPv4Address(dotted))
    return {
        "dotted": dotted,
        "trailing dot": dotted + ".",
        "decimal": str(number),
        "hex": hex(number),
        "dotted hex": ".".join(hex(x) for x in (a, b, c, d)),
        "octal": ".".join(f"0{x:o}" for x in (a, b, c, d)),
        "octal number": f"0{number:o}",
        "two parts": f"{a}.{(b << 16) | (c << 8) | d}",
        "three parts": f"{a}.{b}.{(c << 8) | d}",
        "mapped": f"[::ffff:{dotted}]",
        "mapped hex": f"[::ffff:{(a << 8) | b:x}:{(c << 8) | d:x}]",
        "nat64": f"[64:ff9b::{dotted}]",
        "6to4": f"[2002:{(a << 8) | b:x}:{(c << 8) | d:x}::1]",
    }


def refusal(url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as caught:
        check_url(url, **kwargs)
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)
    return caught.value


@pytest.mark.parametrize("address", METADATA_V4)
@pytest.mark.parametrize("notation", list(notations("1.2.3.4")))
def test_metadata_is_refused_in_every_notation_even_when_private_is_allowed(address, notation):
    host = notations(address)[notation]
    url = f"http://{host}/latest/meta-data/"
    # allowed private and the URL its own origin: the most permissive a feed can be
    error = refusal(url, allow_private=True, origin=url)
    assert error.kind == "blocked" and str(error).endswith("refused")
    assert "cloud metadata address" in str(error)


@pytest.mark.parametrize("address", METADATA_V4 + ["fd00:ec2::254", "fd20:ce::254"])
def test_blocked_reason_knows_every_metadata_address(address):
    assert blocked_reason(ipaddress.ip_address(address), allow_private=True) == (
        "cloud metadata address"
    )


@pytest.mark.parametrize("address", ["fd00:ec2::254", "fd00:ec2::23", "fd20:ce::254"])
def test_ipv6_metadata_is_refused_when_private_is_allowed(address):
    url = f"http://[{address}]/latest/meta-data/"
    assert "cloud metadata address" in str(refusal(url, allow_private=True, origin=url))


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.Google.Internal.", "metadata.goog"]
)
def test_metadata_names_are_refused_before_any_lookup(host):
    url = f"http://{host}/computeMetadata/v1/"
    error = refusal(url, allow_private=True, origin=url)
    assert error.kind == "blocked" and "cloud metadata name" in str(error)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0177.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0x10.0377.1", "10.16.255.1"),
        ("08.1.1.1", None),  # 08 is no octal number: a (bad) name, not an address
        ("example.com", None),
        ("1e3", None),
    ],
)
def test_ipv4_notations_read_as_a_browser_reads_them(host, address):
    found = ipv4_any_notation(host)
    assert (str(found) if found else None) == address


def test_another_notation_of_the_allowed_host_is_refused():
    url = "http://0177.0.0.1:8080/feed.xml"
    error = refusal(url, allow_private=True, origin=url)
    assert "0177.0.0.1 is 127.0.0.1, a loopback address, written in another notation" in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2/feed.xml",
        "http://[::1]/feed.xml",
        "http://10.0.0.1/feed.xml",
        "http://[::ffff:127.0.0.1]/feed.xml",
    ],
)
def test_private_only_on_the_host_the_fetch_started_from(url):
    origin = "http://127.0.0.1:8080/feed.xml"
    error = refusal(url, allow_private=True, origin=origin)
    assert error.kind == "blocked" and "refused" in str(error)
    check_url(url, allow_private=True, origin=url)  # its own origin, allowed: fine


def test_the_allowed_host_on_another_port_or_path_passes():
    origin = "http://127.0.0.1:8080/feed.xml"
    check_url("http://127.0.0.1:9090/other.xml", allow_private=True, origin=origin)
    assert refusal("http://127.0.0.1:9090/", origin=origin).kind == "blocked"  # not allowed


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("data:application/rss+xml,<rss/>", "data: is not fetched (only http and https)"),
        ("javascript:alert(1)", "javascript: is not fetched"),
        ("file:///etc/passwd", "file: is not fetched"),
        ("ftp://example.com/feed.xml", "ftp: is not fetched"),
        ("//example.com/feed.xml", "no scheme is not fetched"),
        ("http://example.com/a\x00b", "control character '\\x00' at position 20"),
        ("http://example.com/a\r\nX-Injected: 1", "control character '\\r' at position 20"),
        ("http://example.com:99999/", "not a valid URL (Port out of range"),
        ("http://[::1/", "not a valid URL (Invalid IPv6 URL)"),
        ("http://exa mple.com/", "no valid host"),
        ("http:///feed.xml", "no valid host"),
    ],
)
def test_urls_we_cannot_send_are_one_line(url, words):
    error = refusal(url)
    assert error.kind == "url" and words in str(error)


def test_public_urls_pass():
    check_url("https://example.com/feed.xml")
    check_url("http://93.184.216.34/feed.xml")
    check_url("http://[2606:4700:4700::1111]/feed.xml")


def test_shown_url_hides_credentials_even_in_a_broken_url():
    shown = shown_url("http://user:hunter22@[::1/feed?token=abc\r\n")
    assert "hunter22" not in shown and "abc" not in shown and "\r" not in shown
    assert shown_url("http://example.com/a b\x01") == "http://example.com/a%20b\\x01"
