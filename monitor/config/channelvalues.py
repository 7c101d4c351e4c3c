"""Values of channels judged the way their notifier uses them: email addresses,
webhook secrets and the host of a Slack or webhook URL.

The config (``check``) and the notifiers share these functions, so an address,
secret or URL that ``check`` accepts is one the notifier can use, and one it
rejects fails at send time with the same words instead of a traceback.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import re
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from email.headerregistry import Address, HeaderRegistry

WEBHOOK_SECRET_PREFIX = "whsec_"
# RFC 5321 section 4.1.2: Domain = sub-domain *("." sub-domain), each
# Let-dig [Ldh-str] (letters, digits, inner hyphens); at most 63 octets a label. An
# underscore is let through: internal relays are named so, and smtplib sends to them.
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


@cache
def _headers() -> HeaderRegistry:
    """The standard library's header parser, loaded at the first address (~6 ms of
    imports every command would pay at start-up for a config without email)."""
    from email.headerregistry import HeaderRegistry

    return HeaderRegistry()


def parse_address(text: str) -> Address:
    """The one mailbox ``text`` names: ``alerts@example.org`` or
    ``News Monitor <alerts@example.org>``, parsed as an RFC 5322 (section 3.4)
    address header by the standard library (``email.headerregistry``, what
    :mod:`monitor.notify.email` builds its headers with).

    Raises ValueError naming ``text`` and the reason when it is not exactly one
    mailbox the header parser reads without a defect, when its domain is not an RFC
    5321 (section 4.1.2/4.1.3) domain or address literal, or when the address is
    not ASCII (that needs SMTPUTF8, RFC 6531, which the channel does not use).
    """
    shown = f"invalid email address {text!r}"
    if any(c in text for c in "\r\n"):
        raise ValueError(f"{shown}: it contains a line break")
    try:
        header = _headers()("To", text)
    except Exception as exc:  # the parser itself fails on some inputs ('a@': IndexError)
        raise ValueError(f"{shown}: {_expected()}") from exc
    if len(header.addresses) != 1 or len(header.groups) != 1:
        many = len(header.addresses) > 1
        raise ValueError(f"{shown}: " + ("one address per entry" if many else _expected()))
    if header.groups[0].display_name is not None:
        raise ValueError(f"{shown}: a group ('name: ...;') is not one address")
    address = header.addresses[0]
    if not address.addr_spec.isascii():
        hint = "use an ASCII mailbox name"
        if address.username.isascii():
            hint = "write the domain in its ASCII (IDNA) form"
            with contextlib.suppress(UnicodeError):
                hint += f", {address.domain.encode('idna').decode('ascii')}"
        raise ValueError(f"{shown}: a non-ASCII address needs SMTPUTF8, which is not used: {hint}")
    # An obsolete form (RFC 5322 section 4: a period in the display name, "J. Doe") is
    # read by every mail program and sent as is; anything else the parser flagged is not.
    from email.errors import ObsoleteHeaderDefect

    defects = [d for d in header.defects if not isinstance(d, ObsoleteHeaderDefect)]
    problem = address.domain and _domain_problem(address.domain)
    if problem:
        raise ValueError(f"{shown}: {problem}")
    if defects or not address.username or not address.domain:
        raise ValueError(f"{shown}: {_expected()}")
    return address


def _expected() -> str:
    return "expected name@domain or 'Display Name <name@domain>'"


def _domain_problem(domain: str) -> str | None:
    """Why ``domain`` is no RFC 5321 domain or address literal, or None."""
    if domain.startswith("["):
        literal = domain[1:-1] if domain.endswith("]") else ""
        text = literal[5:] if literal[:5].lower() == "ipv6:" else literal
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return f"{domain} is not an IP address literal"
        if (ip.version == 6) != (text != literal):  # RFC 5321 4.1.3: [1.2.3.4], [IPv6:...]
            return f"{domain}: write an IPv4 literal as [1.2.3.4] and IPv6 as [IPv6:...]"
        return None
    if domain.endswith("."):
        return f"domain {domain!r} ends with a dot: write it without"
    if len(domain) > 255 or not all(_LABEL.fullmatch(part) for part in domain.split(".")):
        return f"domain {domain!r} is not a host name (letters, digits, inner hyphens)"
    return None


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a webhook ``secret`` (Standard Webhooks, "Signature scheme"):
    the base64-decoded part after ``whsec_`` when the secret has that prefix (missing
    ``=`` padding tolerated), else the secret's UTF-8 bytes.

    Raises ValueError when the part after ``whsec_`` is not base64 (RFC 4648 section 4).
    """
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(WEBHOOK_SECRET_PREFIX) :]
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret starts with whsec_ but is not valid base64") from None


def http_url_problem(url: str) -> str | None:
    """Why ``url`` is not an ``http(s)://host…`` URL a Slack or webhook channel can
    POST to, or None. The reason shows no part of the URL (it is a secret): a caller
    that shows the URL shows it through :func:`monitor.redact.redact_url`.

    The host is the RFC 3986 (section 3.2.2) host of the authority: a registered
    name or an IP literal in brackets; ``https://:pw@/x`` (no host) and
    ``http://[::1/x`` (unclosed literal) have none.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http:// or https:// URL with a host"
    if not host:
        return "has no host: write http(s)://HOST/..."
    if parts.netloc.rpartition("@")[2].startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            return "has an invalid IPv6 address in brackets"
    elif any(c.isspace() or c in '[]<>"{}|\\^`' for c in host):
        return "has an invalid host"
    return None
