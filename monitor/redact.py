"""Keeping secrets out of logs, errors, status and previews.

Two layers: every URL in a text loses its credentials, query string and (for
Slack/Discord/Teams webhooks) its path; and the secret values of the loaded config
(``SecretStr`` fields, passwords in feed URLs) are registered with
:func:`register_secrets`, so that they are replaced by ``***`` wherever they show up,
even in a message or traceback nobody thought of.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from monitor.memo import remember_short

# Any ``scheme://`` URL, whatever the case of its scheme: RFC 3986 section 3.1 makes
# schemes case-insensitive, so ``HTTP://`` and ``Http://`` are fetched like ``http://``
# and must be redacted like it.
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s\"'<>]+", re.IGNORECASE)
# Paths that are themselves credentials: Slack/Discord/Teams webhook URLs, tokens.
_SECRET_PATH_HOSTS = ("hooks.slack.com", "discord.com", "discordapp.com", "webhook.office.com")
MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words
MIN_TOKEN_CHARS = 12  # a secret URL's last path segment this long is its token
WHSEC_PREFIX = "whsec_"  # Standard Webhooks: the prefix, then the base64 key
MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def redact_url(text: str) -> str:
    """Remove URL credentials and every registered secret value from ``text``."""
    return redact_secrets(_URL.sub(lambda m: _redact_one(m.group(0)), text))


def redact_secrets(text: str) -> str:
    """Replace every registered secret value in ``text`` by ``***``."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def register_secrets(values: Iterable[str]) -> None:
    """Remember secret values (and the secret parts of secret URLs) to redact from now on."""
    global _pattern
    found: set[str] = set()
    for value in values:
        found.update(_secret_parts(value))
    found |= {form for part in found for form in _json_forms(part)}
    found = {v for v in found if len(v) >= MIN_SECRET_CHARS}
    with _lock:
        if found <= _secrets:
            return
        _secrets.update(found)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial masks
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def config_secrets(config: Any) -> list[str]:
    """The secret strings of a config: ``SecretStr`` values and passwords in feed URLs."""
    from pydantic import BaseModel, SecretStr

    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            out.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(config)
    for feed in getattr(config, "feeds", ()):
        parts = urlsplit(feed.url)
        if parts.password:
            out += [parts.password, unquote(parts.password)]
    return out


def _json_forms(value: str) -> set[str]:
    """``value`` as it appears inside a JSON string (``"`` and ``\\`` escaped, and with
    ``ensure_ascii``): ``status --json`` and ``history --json`` print stored errors so,
    and a mask of the raw value would miss them."""
    return {json.dumps(value, ensure_ascii=ascii)[1:-1] for ascii in (False, True)} - {value}


def _looks_like_token(segment: str) -> bool:
    """A path segment that is a credential (Slack's ``B0…/XXXX…``): long, letters and
    digits mixed. An ordinary word (``notifications``) is not masked everywhere."""
    return (
        len(segment) >= MIN_TOKEN_CHARS
        and any(c.isdigit() for c in segment)
        and any(c.isalpha() for c in segment)
    )


def _secret_parts(value: str) -> set[str]:
    """``value`` itself, plus the password, path, query and token (a last path segment
    that :func:`_looks_like_token`: Slack's, Discord's) of a URL-shaped secret, and
    the key of a Standard Webhooks ``whsec_`` secret: a destination's error body may
    quote any of them alone."""
    value = value.strip() or value
    parts = {value}
    if value.startswith(WHSEC_PREFIX):
        parts.add(value.removeprefix(WHSEC_PREFIX))
    if "://" in value:
        try:
            url = urlsplit(value)
        except ValueError:
            return parts
        token = url.path.rstrip("/").rsplit("/", 1)[-1]
        for part in (url.password, url.query, url.path if len(url.path) > 8 else None, token):
            if part and (part is not token or _looks_like_token(token)):
                parts.update({part, unquote(part)})
    return {p for p in parts if p}


def _redact_one(url: str) -> str:
    """``url`` parsed (so the case of its scheme does not matter) and rebuilt without
    its userinfo, query string (every parameter, whatever its name) and fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<url>"
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host + (f":{port}" if port else "") if "@" in parts.netloc else parts.netloc
    path = parts.path
    if any(host.endswith(h) for h in _SECRET_PATH_HOSTS):
        path = "/…"
    query = "…" if parts.query else ""
    fragment = "…" if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (unchanged if it has none or does not parse)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def link_base(url: str) -> str:
    """``url`` as the base for a feed's relative links: without ``user:password@``, query
    string or fragment, so that no resolved link carries the feed URL's token."""
    url, parts = _without_userinfo(url)
    return url if parts is None else urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@remember_short(4096)
def state_key(url: str) -> str:
    """The key a feed's state is stored under: ``url`` without ``user:password@``, and
    with its query string and fragment (where private feeds put tokens) replaced by a
    digest of them, so the database never holds them but each URL keeps its own key.
    Remembered for the last 4,096 URLs (:mod:`monitor.memo`): every step of a poll
    asks for its feed's key.
    """
    url, parts = _without_userinfo(url)
    if parts is None or (not parts.query and not parts.fragment):
        return url
    digest = hashlib.sha256(f"{parts.query}#{parts.fragment}".encode()).hexdigest()[:20]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"sha256={digest}", ""))


def may_hold_secret(url: str) -> bool:
    """Whether ``url`` has ``user:password@``, a query string or a fragment, where
    tokens live: such a URL is never written to the state database."""
    return state_key(url) != url


def _without_userinfo(url: str) -> tuple[str, SplitResult | None]:
    """``url`` without ``user:password@``, and its parts (None if it does not parse)."""
    url = strip_userinfo(url)
    try:
        return url, urlsplit(url)
    except ValueError:
        return url, None


def error_line(exc: Exception, secret: str | None = None) -> str:
    """The first line of a database error's message (libpq's, a constraint's that may
    quote a row), on one line, without ``secret`` (the password) or a registered secret."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines[:1]) or type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    return redact_url(re.sub(r"\s+", " ", text))
