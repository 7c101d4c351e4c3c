"""The SSRF rule: which URLs and addresses a fetch may reach (pure: no I/O).

A feed is untrusted: its redirects, the feed link a web page advertises and its
article links may name any host. :func:`check_url` is the one rule for all of them
and for the operator's own feed URL:

- only ``http`` and ``https``, no control characters (``\\r\\n`` header injection,
  ``\\x00``), a valid host and port;
- no IPv4 address in another notation (``0177.0.0.1``, ``2130706433``, ``0x7f.1``):
  browsers and inet_aton(3) read those as addresses, so a filter that reads them as
  names is fooled. They are refused whatever they name;
- never a cloud metadata endpoint (:data:`METADATA`, :data:`METADATA_NAMES`), even
  when private networks are allowed;
- a private address only on the one host the operator allowed: the host of the URL
  the fetch *started* from (the feed URL as written), when the feed's
  ``allow_private_networks`` is true. A redirect, an advertised feed or an article
  link on any other private host is refused.

Names are judged again once resolved, at connect time (:mod:`monitor.ingest.netguard`).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import httpx

from monitor.errors import FetchError
from monitor.memo import remember_short
from monitor.redact import redact_secrets, redact_url

# Cloud credential and metadata endpoints, refused even when private networks are
# allowed: AWS IMDS (IPv4, IPv6), AWS ECS task metadata, AWS EKS Pod Identity (IPv4,
# IPv6), Azure IMDS (169.254.169.254) and wireserver, Alibaba Cloud, GCP (IPv6).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::23",
        "168.63.129.16",
        "100.100.100.200",
        "fd20:ce::254",
    )
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})  # GCP
HOST_CHARS = re.compile(r"[a-z0-9._:-]+")  # a host as httpx sends it (IDNA, lower case)
SCHEMES = frozenset({"http", "https"})
MAX_URL_CHARS = 8192  # as links in items (normalize.py)
URL_CACHE = 4096  # URLs whose check_form and url_host are remembered (pure functions)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address in the low 32 bits
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 (deprecated), same layout
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def blocked_reason(ip: Address, *, allow_private: bool = False) -> str | None:
    """Why ``ip`` must not be connected to (None when it may be).

    Cloud metadata addresses (:data:`METADATA`) are always refused; loopback,
    private, link-local, shared (CGNAT), multicast, reserved and unspecified
    addresses unless ``allow_private``. IPv6 addresses that carry an IPv4 address
    (IPv4-mapped, 6to4, Teredo, NAT64, IPv4-compatible) are judged by that address.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return blocked_reason(inner, allow_private=allow_private)
    if ip in METADATA:
        return "cloud metadata address"
    if allow_private:
        return None
    for label in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{label}"):
            return label.replace("_", "-") + " address"
    if not ip.is_global:
        return "non-public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that do."""
    inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
    if inner is None and (ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1)):
        inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return inner


def private_host(origin: str, allow_private: bool) -> str | None:
    """The one host that may be private for a fetch that started at ``origin``.

    ``origin`` is the URL the operator wrote (the feed URL; the SOURCE given to
    ``fetch``/``test-rule``); None when ``allow_private`` is false.
    """
    return url_host(origin) if allow_private else None


@remember_short(URL_CACHE)
def url_host(url: str) -> str:
    """The host of ``url`` as the guard compares hosts: as httpx sends it (lower case,
    IDNA, no brackets), without a trailing dot; "" when there is none. Remembered for
    the last :data:`URL_CACHE` URLs (a pure function of the text)."""
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
    return host.rstrip(".")


def check_url(url: str, *, allow_private: bool = False, origin: str | None = None) -> None:
    """Raise FetchError unless ``url`` may be fetched for a fetch started at ``origin``.

    The one rule for feed URLs, redirects, advertised feeds and article links: see
    the module docstring. ``allow_private`` is the feed's ``allow_private_networks``;
    ``origin`` the URL the operator wrote (default ``url`` itself): only its host
    may be private. Kind ``url`` for a URL we cannot fetch, ``blocked`` for one we
    will not. Names are checked again once resolved (:class:`GuardedBackend`).
    """
    check_url_for(url, private_host(origin or url, allow_private))


def check_url_for(url: str, allowed_private: str | None) -> None:
    """:func:`check_url` given the host that may be private (:func:`private_host`)."""
    host = check_form(url)
    reason = host_refusal(host, allowed_private)
    if reason:
        raise FetchError("blocked", f"{shown_url(url)}: {reason}: refused")


@remember_short(URL_CACHE)
def check_form(url: str) -> str:
    """The host of ``url``; FetchError (kind ``url``) when ``url`` is not an http(s)
    URL we can send: a control character (``\\r\\n`` would split the request), a
    bad port or host, another scheme (``data:``, ``file:``, ``javascript:``).

    A pure function of the text, remembered for the last :data:`URL_CACHE` URLs that
    passed (:mod:`monitor.memo`; a refusal is worked out again): each poll checks its
    feed's URL at the fetch and again at the connection (~0.1 ms each, mostly parsing
    it with httpx), and ``check`` and ``run`` check every feed URL at start.
    """
    bad = next((c for c in url if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        where = url.index(bad)
        raise FetchError("url", f"{shown_url(url)}: control character {bad!r} at position {where}")
    if len(url) > MAX_URL_CHARS:
        raise FetchError("url", f"{shown_url(url)}: longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as exc:
        raise FetchError("url", f"{shown_url(url)}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        said = f"{scheme}:" if scheme else "no scheme"
        raise FetchError("url", f"{shown_url(url)}: {said} is not fetched (only http and https)")
    host = url_host(url)
    if not HOST_CHARS.fullmatch(host):
        raise FetchError("url", f"{shown_url(url)}: no valid host")
    numeric = ipv4_any_notation(host)
    if numeric is not None and str(numeric) != host:
        reason = blocked_reason(numeric)
        what = f"{numeric}, a {reason}" if reason else str(numeric)
        raise FetchError(
            "blocked",
            f"{shown_url(url)}: {host} is {what}, written in another notation (octal, hex or one"
            " number): refused",
        )
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError("url", f"{shown_url(url)}: not a valid URL ({exc})") from None
    return host


def host_refusal(host: str, allowed_private: str | None = None) -> str | None:
    """Why the host ``host`` (as :func:`url_host` gives it) is refused, or None.

    A metadata name (:data:`METADATA_NAMES`) always; an IP literal as
    :func:`blocked_reason` judges it, private allowed only when ``host`` is
    ``allowed_private``. Other names are judged once resolved, at connect time.
    """
    if host in METADATA_NAMES:
        return f"{host} is a cloud metadata name"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    reason = blocked_reason(ip, allow_private=host == allowed_private)
    return f"{host} is a {reason}" if reason else None


def ipv4_any_notation(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``host`` names in the notations a browser (WHATWG URL,
    "IPv4 parser") and inet_aton(3) accept: 1 to 4 parts, each decimal, ``0x`` hex or
    ``0`` octal, the last one filling the remaining bytes. None when ``host`` is a
    name; a numeric host that fits no address reads as 255.255.255.255 (refused)."""
    parts = host.split(".")
    if len(parts) > 4 or not all(_number(p) is not None for p in parts):
        return None
    numbers = [_number(p) or 0 for p in parts]
    last_bits = 8 * (5 - len(numbers))
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        return ipaddress.IPv4Address(0xFFFFFFFF)
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value |= number << (24 - 8 * index)
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    """One part of a numeric IPv4 host (decimal, 0x hex, 0 octal), or None."""
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def shown_url(url: str, limit: int = 200) -> str:
    """``url`` redacted and on one line (spaces as ``%20``, other invisible characters
    escaped as ``\\r``, ``\\x00``), cut at ``limit`` characters: fit for a log line."""
    escaped = "".join(
        c if c.isprintable() and c != " " else "%20" if c == " " else ascii(c)[1:-1] for c in url
    )
    shown = redact_url(escaped)
    if "<url>" in shown and "<url>" not in escaped:  # unparseable: cut as redact_url would
        bare = re.sub(r"//[^/@]*@", "//", re.split(r"[?#]", escaped, maxsplit=1)[0])
        shown = redact_secrets(bare + ("…" if bare != escaped else ""))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
