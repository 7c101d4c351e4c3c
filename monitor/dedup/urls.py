"""What makes two items the same story (first version: the same canonical URL).

Pure functions: the store looks the canonical URL up; this module only computes it.
Near-duplicate text across outlets (fingerprints, clustering) grows here (issue #5).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.memo import remember_short

# Query parameters that only track the reader, never select the article.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ocid"}
    | {"cmpid", "cmp", "ref", "ref_src", "ref_url", "src", "ito", "at_medium", "at_campaign"}
    | {"_ga", "_gl", "spm", "share", "smid", "sr_share", "rss", "feature", "ns_mchannel"}
)
TRACKING_PREFIXES = ("utm_", "at_", "mkt_", "pk_", "hsa_", "oly_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# A link canonical_url can answer without urllib: http(s), a host name (labels of
# letters, digits and hyphens, a root dot allowed), a path of unreserved, sub-delim,
# ":", "@" and "%" characters (RFC 3986 §3.3), no port, user, query or fragment.
PLAIN_LINK = re.compile(
    r"(?i:https?)://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?)(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?",
    re.ASCII,
)


@remember_short(4096)
def canonical_url(url: str | None) -> str | None:
    """The URL with tracking noise removed, for comparing links across feeds.

    Lower-cases scheme and host, drops default ports, fragments, tracking
    parameters (``utm_*``, ``fbclid`` …) and a trailing ``/`` on the path; sorts the
    remaining query parameters. ``http`` and ``https`` compare equal. Returns None
    for anything that is not an absolute http(s) URL.

    Remembered for the last 4,096 URLs (:mod:`monitor.memo`): a new item's link is
    made canonical for its key, its match and its row. A plain link (a host name and
    a path of URL characters, no port, query or fragment: most item links) is made
    canonical by one pattern, ~2–3 µs, with the answer of the general way, 8–20 µs (a
    test holds the two equal: ``tests/unit/test_dedup_urls.py``).
    """
    if not url:
        return None
    url = url.strip()
    plain = PLAIN_LINK.fullmatch(url)
    if plain is not None:
        return from_plain(plain)
    return by_split(url)


def from_plain(plain: re.Match[str]) -> str:
    """The canonical form of a URL :data:`PLAIN_LINK` matched."""
    return f"http://{_host(plain.group(1))}{_path(plain.group(2) or '')}"


def _host(name: str) -> str:
    """A host name compared across feeds: lower case, no root dot, no ``www.``."""
    host = name.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _path(path: str) -> str:
    """A path compared across feeds: no trailing ``/``, ``/`` when empty."""
    return path.rstrip("/") or "/"


def by_split(url: str) -> str | None:
    """:func:`canonical_url` of a stripped ``url``, the general way (urllib's split)."""
    if not url[:8].lower().startswith(("http://", "https://")):
        return None  # no host without "//" (a guid that is no URL: most of them)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if port and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    )
    return urlunsplit(("http", host, _path(parts.path), urlencode(query), ""))
