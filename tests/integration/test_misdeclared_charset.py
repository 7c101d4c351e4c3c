"""A UTF-8 feed that declares ISO-8859-1 reads right, decided once per feed
(monitor/ingest/mislabel.py, docs/feeds.md "Encodings"), through ``run --once``.

Feeds are served by a real HTTP server on 127.0.0.1 and alerts go to a webhook on it;
the CLI runs in a subprocess. Earlier versions read such a feed as declared: alerts said
``CafÃ© ZÃ¼rich â€” â€œtalksâ€``. The decision is taken on the first whole body, while the
feed has no item, and kept: later polls that parse only their changed entries read
alike, a genuine windows-1252 feed whose text happens to pair up as UTF-8 (``NESTLÉ®``)
stays windows-1252, a feed an earlier version stored items of is decided at its next
body with its items' keys carried over, and a declaration that is not a single-byte
legacy encoding is never overruled.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli, write_config
from tests.servers import HttpServer

LATIN1 = '<?xml version="1.0" encoding="iso-8859-1"?>'
PLAIN = '<?xml version="1.0"?>'


def rss(*entries: tuple[str, str], head: str = PLAIN, edited: str = "") -> str:
    """An RSS document of (guid, title) entries, each with a description naming it
    (``edited``: the guid whose description says it was edited)."""
    items = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title>"
        f"<description>Story {guid}{' (edited)' * (guid == edited)}.</description></item>"
        for guid, title in entries
    )
    return f'{head}<rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>'


def config(tmp_path: Path, http: HttpServer, *names: str) -> Path:
    """Feeds ``/NAME.xml`` on ``http`` (backfill: all), one rule matching everything,
    a webhook on ``http``."""
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"name": n, "url": http.url(f"/{n}.xml"), "backfill": "all"} for n in names],
            "rules": [{"name": "all", "query": "story"}],
            "channels": {"hook": {"type": "webhook", "url": http.url("/hook")}},
        },
    )


def run_once(config: Path) -> str:
    """``run --once``; its stderr (the log)."""
    done = run_cli("run", "--once", "--config", str(config), cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return done.stderr


def alerted(http: HttpServer) -> list[tuple[str, str]]:
    """(guid, title) of every item the webhook received, sorted."""
    bodies = [json.loads(r.body) for r in http.requests_to("/hook")]
    return sorted((i["guid"], i["title"]) for body in bodies for i in body["items"])


def feed_status(config: Path, name: str) -> dict:
    shown = run_cli("status", "--json", "--config", str(config), cwd=config.parent)
    assert shown.returncode == 0, shown.stderr
    (feed,) = [f for f in json.loads(shown.stdout)["feeds"] if f["name"] == name]
    return feed


@pytest.mark.parametrize("where", ["HTTP charset", "XML declaration"])
def test_a_utf8_feed_declared_latin1_reads_right_at_its_first_and_later_partial_polls(
    tmp_path, http_server, where
):
    head, headers = (PLAIN, {"Content-Type": "application/rss+xml; charset=ISO-8859-1"})
    if where == "XML declaration":
        head, headers = LATIN1, {"Content-Type": "application/rss+xml"}
    first = [("c-1", "Café in Zürich — “talks”"), ("c-2", "Pompeo’s visit")]
    http_server.route("/wire.xml", rss(*first, head=head).encode(), headers=headers)
    cfg = config(tmp_path, http_server, "wire")
    log = run_once(cfg)
    assert alerted(http_server) == sorted(first)
    assert log.count("charset decided") == 1, log
    assert f"declared cp1252 ({where}), read as UTF-8" in log
    assert "read as UTF-8" in feed_status(cfg, "wire")["parse_warning"]
    # A later poll parses only its new entry, whose bytes alone show 2 distinct UTF-8
    # characters (’ é): too few to decide on, but the feed's reading holds.
    later = [("c-3", "L’été")]
    http_server.route("/wire.xml", rss(*later, *first, head=head).encode(), headers=headers)
    log = run_once(cfg)
    assert "feed='wire' items=3 parsed=1 new=1" in log, log
    assert alerted(http_server) == sorted(first + later)
    assert "charset decided" not in log, log
    assert "read as UTF-8" in feed_status(cfg, "wire")["parse_warning"]


def test_a_genuine_windows_1252_feed_whose_text_pairs_up_as_utf8_stays_windows_1252(
    tmp_path, http_server
):
    """``NESTLÉ®`` is C9 AE, a valid UTF-8 character (``NESTLɮ``); feedparser read every
    such field as UTF-8. The feed's body is not UTF-8 (``crème``), so it is decided
    windows-1252 once, and a later poll whose only new entry is valid UTF-8 with three
    distinct pairs (É® É» Ö–) reads it as windows-1252 too."""
    headers = {"Content-Type": "application/rss+xml; charset=windows-1252"}
    first = [("n-1", "NESTLÉ® recalls crème brûlée"), ("n-2", "NESTLÉ®")]
    http_server.route("/shop.xml", rss(*first).encode("cp1252"), headers=headers)
    cfg = config(tmp_path, http_server, "shop")
    log = run_once(cfg)
    assert alerted(http_server) == sorted(first)
    assert "charset decided: its bytes are not UTF-8, read as declared" in log, log
    later = [("n-3", "NESTLÉ®, CAFÉ» and TRÖ–")]
    body = rss(*later, *first).encode("cp1252")
    http_server.route("/shop.xml", body, headers=headers)
    log = run_once(cfg)
    assert "feed='shop' items=3 parsed=1 new=1" in log, log
    assert alerted(http_server) == sorted(first + later)
    assert feed_status(cfg, "shop")["parse_warning"] is None


def test_a_feed_from_an_earlier_version_is_decided_at_its_next_body_its_items_carried_over(
    tmp_path, http_server
):
    """``old`` stored its items as earlier versions did: read as declared (its first
    body had two distinct UTF-8 characters, too few to decide on, and those versions
    kept no reading), so its item's guid is ``zÃ¼richâ€”1``. Its next body, with new
    entries, decides it (UTF-8), and the stored item takes the key that reading gives,
    ``zürich—1``, in the same transaction: its edited entry is an update, not a new
    item alerted twice, and its new entries read right, as in ``new``, added then."""
    headers = {"Content-Type": "application/rss+xml; charset=iso-8859-1"}
    known = ("zürich—1", "Talks in Zürich—day one")
    http_server.route("/old.xml", rss(known).encode(), headers=headers)
    run_once(config(tmp_path, http_server, "old"))
    (stored,) = alerted(http_server)  # as earlier versions read it
    assert stored == ("zÃ¼richâ€”1", "Talks in ZÃ¼richâ€”day one")
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:
        db.execute("UPDATE feeds SET charset_reading = NULL")  # what those versions left
    fresh = [("c-1", "Café “talks”"), ("c-2", "Pompeo’s visit")]
    document = rss(*fresh, known, edited=known[0]).encode()
    for name in ("old", "new"):
        http_server.route(f"/{name}.xml", document, headers=headers)
    cfg = config(tmp_path, http_server, "old", "new")
    log = run_once(cfg)
    assert "feed='old' items=1 carried over to their keys as now read" in log, log
    assert "feed='old' items=3 parsed=3 new=2" in log, log  # the edited entry: an update
    sent = alerted(http_server)  # old: its two new entries; new: all three; all right
    assert sent == sorted([stored, *fresh, known, *fresh])
    assert log.count("charset decided") == 2, log
    for name in ("old", "new"):
        assert "read as UTF-8" in feed_status(cfg, name)["parse_warning"]


def test_only_a_single_byte_legacy_declaration_is_overruled(tmp_path, http_server):
    """Four feeds serve the same UTF-8 bytes under four labels. Declared ISO-8859-15
    they read as UTF-8; declared KOI8-R (single-byte, but neither ISO 8859 nor
    windows-125x), Shift_JIS or EUC-KR they are read as declared, with no decision kept
    or logged."""
    entry = ("u-1", "Café in Zürich — “talks”")
    charsets = {"iso": "ISO-8859-15", "koi": "KOI8-R", "sjis": "Shift_JIS", "kr": "EUC-KR"}
    for name, charset in charsets.items():
        headers = {"Content-Type": f"application/rss+xml; charset={charset}"}
        http_server.route(f"/{name}.xml", rss(entry).encode(), headers=headers)
    cfg = config(tmp_path, http_server, *charsets)
    log = run_once(cfg)
    assert log.count("charset decided") == 1 and "feed='iso' charset decided" in log, log
    titles = {t for _, t in alerted(http_server)}
    as_declared = {entry[1].encode().decode(c, "replace") for c in list(charsets.values())[1:]}
    assert titles == {entry[1], *as_declared}
    assert "read as UTF-8" in feed_status(cfg, "iso")["parse_warning"]
    for name in ("koi", "sjis", "kr"):
        assert "read as UTF-8" not in (feed_status(cfg, name)["parse_warning"] or ""), name


def test_fetch_reads_a_document_as_a_first_poll_would(tmp_path, http_server):
    """``news-monitor fetch`` shows what a new feed's first poll will read."""
    headers = {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}
    entries = [("c-1", "Café in Zürich — “talks”")]
    http_server.route("/wire.xml", rss(*entries).encode(), headers=headers)
    shown = run_cli("fetch", http_server.url("/wire.xml"), "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (item,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert (item["guid"], item["title"]) == entries[0]
