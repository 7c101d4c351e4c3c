"""Keeping secrets out of logs, errors, status and previews."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_URL = re.compile(r"https?://[^\s\"'<>]+")
# Paths that are themselves credentials: Slack/Discord/Teams webhook URLs, tokens.
_SECRET_PATH_HOSTS = ("hooks.slack.com", "discord.com", "discordapp.com", "webhook.office.com")


def redact_url(text: str) -> str:
    """Remove userinfo, query strings and secret-bearing paths from URLs in ``text``."""
    return _URL.sub(lambda m: _redact_one(m.group(0)), text)


def _redact_one(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<url>"
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "") if parts.username else parts.netloc
    path = parts.path
    if any(host.endswith(h) for h in _SECRET_PATH_HOSTS):
        path = "/…"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))
