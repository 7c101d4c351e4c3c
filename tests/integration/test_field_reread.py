"""feedparser's per-field re-reading as UTF-8, checked (monitor/ingest/reread.py,
docs/feeds.md "Fields read again as UTF-8"), through ``run --once``.

A real HTTP server on 127.0.0.1 serves UTF-8 feeds and receives the webhook; the CLI
runs in a subprocess. feedparser re-reads a field as UTF-8 whenever its text is all
ISO-8859-1 and those bytes pair up as UTF-8: it repairs double-encoded text and turned
a genuine ``NESTLÉ®`` into ``NESTLɮ``. A feed first read by this version keeps the
repair and not the misreading; a feed with items from an earlier version keeps the
reading its stored ids were made with.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.integration.test_misdeclared_charset import alerted, config, rss, run_once

UTF8 = {"Content-Type": "application/rss+xml; charset=utf-8"}
GENUINE = [("g-1", "NESTLÉ® recalls desserts"), ("g-2", "IDENTITÉ\u00a0: new story")]
DOUBLED = ("d-1", "Café in Zürich, a story")  # served encoded twice (below)


def twice(text: str) -> str:
    """``text`` encoded twice, as a template that encodes UTF-8 again publishes it."""
    return text.encode("utf-8").decode("latin-1")


def reading(cfg: Path, name: str) -> str | None:
    """``feeds.charset_reading`` of feed ``name`` in the SQLite state."""
    with sqlite3.connect(cfg.parent / "state" / "monitor.db") as db:
        row = db.execute("SELECT charset_reading FROM feeds WHERE name = ?", (name,)).fetchone()
    return row[0]


def test_a_new_feed_keeps_genuine_text_and_repairs_double_encoded_text(tmp_path, http_server):
    """The alerts say ``NESTLÉ®`` and ``IDENTITÉ`` (feedparser alone: ``NESTLɮ``,
    ``IDENTITɠ``) and ``Café in Zürich`` for a title served as ``CafÃ© in ZÃ¼rich``.
    The feed's reading is kept with its first items, so later polls read alike."""
    served = [*GENUINE, (DOUBLED[0], twice(DOUBLED[1]))]
    http_server.route("/wire.xml", rss(*served).encode(), headers=UTF8)
    cfg = config(tmp_path, http_server, "wire")
    run_once(cfg)
    titles = dict(alerted(http_server))
    assert titles["g-1"] == "NESTLÉ® recalls desserts"
    assert titles["g-2"].replace("\u00a0", " ") == "IDENTITÉ : new story"
    assert titles["d-1"] == DOUBLED[1]
    assert reading(cfg, "wire") == "label"
    later = ("g-3", "Ü° and É® in a story")  # alone: a partial parse of one entry
    http_server.route("/wire.xml", rss(later, *served).encode(), headers=UTF8)
    log = run_once(cfg)
    assert "feed='wire' items=4 parsed=1 new=1" in log, log
    assert dict(alerted(http_server))["g-3"] == later[1]


def test_an_empty_feed_keeps_no_reading_until_it_has_items(tmp_path, http_server):
    """A feed whose first body has no entry keeps nothing: its first items decide."""
    http_server.route("/wire.xml", rss().encode(), headers=UTF8)
    cfg = config(tmp_path, http_server, "wire")
    run_once(cfg)
    assert reading(cfg, "wire") is None
    http_server.route("/wire.xml", rss(*GENUINE).encode(), headers=UTF8)
    run_once(cfg)
    assert reading(cfg, "wire") == "label"
    assert dict(alerted(http_server))["g-1"] == "NESTLÉ® recalls desserts"


def test_a_feed_with_items_from_an_earlier_version_is_read_as_before(tmp_path, http_server):
    """An earlier version kept no reading: such a feed is read as it read it
    (feedparser's re-reading unchecked: ``CAFɮ``), because an item whose id is its text
    or a guid with such a pair was stored under the id that reading gave."""
    entry = "<item><title>Recalls story</title><description>A story.</description></item>"
    document = '<rss version="2.0"><channel><title>W</title>{}</channel></rss>'
    http_server.route("/wire.xml", document.format(entry).encode(), headers=UTF8)
    cfg = config(tmp_path, http_server, "wire")
    run_once(cfg)
    with sqlite3.connect(cfg.parent / "state" / "monitor.db") as db:
        db.execute("UPDATE feeds SET charset_reading = NULL")  # as earlier versions left it
    fresh = "<item><guid>g-9</guid><title>CAFÉ® story</title></item>"
    http_server.route("/wire.xml", document.format(fresh + entry).encode(), headers=UTF8)
    log = run_once(cfg)
    assert "items=2 parsed=2 new=1" in log, log
    bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
    titles = sorted(i["title"] for body in bodies for i in body["items"])
    assert titles == ["CAFɮ story", "Recalls story"]
    assert reading(cfg, "wire") is None
