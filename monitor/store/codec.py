"""Timestamps as text, the hashes items are indexed and compared by, and matches as
JSON, for the database and back.

Timestamps are stored as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), which sorts as text. Items
have their own module (:mod:`monitor.store.itemcodec`: the item formats).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from monitor.dedup.identity import HASH_DIGITS, SHORT_HASH_DIGITS
from monitor.memo import remember_short
from monitor.models import Highlight, Match

compact_json: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False
).encode
"""``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``: JSON without spaces,
by one encoder made once (``dumps`` with options makes an encoder per call, ~2.7 of its
~5 µs for an item's row; issue #18)."""


def ts(moment: datetime | None) -> str | None:
    """A UTC timestamp as sortable text (None stays None)."""
    if moment is None:
        return None
    return _utc_text(moment.astimezone(UTC))


@lru_cache(maxsize=64)
def _utc_text(moment: datetime) -> str:
    """:func:`ts` of a UTC datetime, remembered for the last 64 (a poll stores its one
    ``now`` with each of its items). Keyed in UTC: two local times that compare equal
    but are an hour apart (``fold``) never share an entry."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def not_before(moment: datetime) -> datetime:
    """``moment`` rounded *up* to the second: a "not before" time as it is stored.

    Timestamps are stored to the second; truncating a retry time would make a
    sub-second backoff come due at once.
    """
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def ts_not_before(moment: datetime) -> str:
    """Like :func:`ts` for a "not before" time (see :func:`not_before`)."""
    return ts(not_before(moment)) or ""


_STORED_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def parse_ts(text: str | None) -> datetime | None:
    """The inverse of :func:`ts`: an aware UTC datetime (None for None or "").

    What :func:`ts` writes is read by ``datetime.fromisoformat`` (~0.4 us; 3.11 reads
    the ``Z``), everything else by ``strptime`` (~5 us) as before, so the same texts
    are accepted (``strptime`` is lenient: one-digit fields, lower case) and the same
    ones rejected (an offset, a fraction, a date alone): ValueError.
    """
    if not text:
        return None
    if _STORED_TS.fullmatch(text):
        return datetime.fromisoformat(text)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@remember_short(8192)
def text_hash(text: str | None) -> int | None:
    """A 64-bit signed hash of ``text`` (None stays None): how ``items`` indexes item
    keys and canonical links (``key_hash``, ``url_hash``) instead of the text itself.

    blake2b, 8 bytes, big-endian, signed (SQLite's INTEGER and PostgreSQL's BIGINT are
    signed 64-bit). Two texts may share a hash: every lookup compares the row's text.
    Remembered for the last 8,192 texts (:mod:`monitor.memo`): a poll hashes each key
    to look it up and again to store it.
    """
    if text is None:
        return None
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def stored_hash(digest: str, short: bool) -> str | bytes:
    """A content hash (:func:`monitor.dedup.identity.content_hash`, hex) as
    ``items.content_hash`` keeps it: ``short`` (SQLite), its first 8 bytes as a BLOB (9
    bytes on disk against 25 for the hex; 64 bits tell one item's versions apart), else
    the hex as it is (PostgreSQL, where the previous version compares the whole hex).
    A value that is not a hash of that form is kept as it is."""
    if short and len(digest) == HASH_DIGITS:
        try:
            return bytes.fromhex(digest[:SHORT_HASH_DIGITS])
        except ValueError:
            return digest
    return digest


def read_hash(value: str | bytes | None) -> str | None:
    """``items.content_hash`` as :func:`monitor.dedup.identity.same_content` compares
    it: hex (16 digits for a short one)."""
    return value.hex() if isinstance(value, bytes) else value


def match_to_json(match: Match) -> str:
    """``matches.data``: a match's terms and highlights (the rule name is a column) as
    compact JSON, ``{"terms":[...],"highlights":[[field,start,end,term],...]}``; empty
    lists left out (a first-poll baseline match is ``{}``)."""
    if not match.terms and not match.highlights:
        return "{}"
    data: dict[str, Any] = {}
    if match.terms:
        data["terms"] = list(match.terms)
    if match.highlights:
        data["highlights"] = [list(h) for h in match.highlights]
    return compact_json(data)


def match_from_json(rule: str, text: str) -> Match:
    """The match of rule ``rule`` from ``matches.data`` (any version's)."""
    data = json.loads(text)
    highlights = tuple(Highlight(*h) for h in data.get("highlights", ()))
    return Match(rule=rule, terms=tuple(data.get("terms", ())), highlights=highlights)


MAX_ERROR_CHARS = 500  # an error or answer kept in the database is cut to this


def kept_text(text: str) -> str:
    """An error or a destination's answer as the database keeps it: URLs without their
    credentials and query, every registered secret masked (:func:`monitor.redact.redact_url`),
    cut to :data:`MAX_ERROR_CHARS`. A server may echo what it was sent (an SMTP 535 quoting
    the login, a 401 body quoting a token): masked in the log, it must not be kept raw for
    ``status`` to print."""
    from monitor.redact import redact_url

    return redact_url(text)[:MAX_ERROR_CHARS]
