"""feedparser's per-field re-reading as UTF-8, checked (monitor/ingest/reread.py,
docs/feeds.md "Fields read again as UTF-8"), through ``run --once``.

A real HTTP server on 127.0.0.1 serves UTF-8 feeds and receives the webhook; the CLI
runs in a subprocess. feedparser re-reads a field as UTF-8 whenever its text is all
ISO-8859-1 and those bytes pair up as UTF-8: it repairs double-encoded text and turned
a genuine ``NESTLÉ®`` into ``NESTLɮ``. A feed first read by this version keeps the
repair and not the misreading; a feed with items from an earlier version is read so
from its next changed body, its stored items renamed to the keys the new reading gives.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import urljoin

import pytest

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


@pytest.mark.parametrize("stored_as", ["guid", "resolved guid"])
def test_a_feed_from_an_earlier_version_is_read_anew_and_its_items_keep_their_keys(
    tmp_path, http_server, stored_as
):
    """An earlier version kept no reading and read ``CAFÉ®-1`` as ``CAFɮ-1``: its item
    is stored under that guid (or, stored by a still older version, under the guid
    resolved against the feed's URL, its former key). At the feed's next changed body
    it is decided (read by its label, fields checked) and the stored item is renamed to
    ``CAFÉ®-1``, so its edited entry is an update (no alert), not a new item alerted
    twice; a fresh entry reads right."""
    known = (
        "<item><guid>CAFÉ®-1</guid><title>Known story</title><description>{}</description></item>"
    )
    document = '<rss version="2.0"><channel><title>W</title>{}</channel></rss>'
    http_server.route("/wire.xml", document.format(known.format("Told.")).encode(), headers=UTF8)
    cfg = config(tmp_path, http_server, "wire")
    run_once(cfg)
    url = http_server.url("/wire.xml")
    old = "CAFɮ-1" if stored_as == "guid" else urljoin(url, "CAFɮ-1")
    as_before(cfg.parent / "state", url, {"CAFÉ®-1": old})
    fresh = "<item><guid>g-9</guid><title>ÉTÉ® story</title></item>"
    edited = document.format(fresh + known.format("Told again.")).encode()
    http_server.route("/wire.xml", edited, headers=UTF8)
    log = run_once(cfg)
    assert "feed='wire' items=1 carried over to their keys as now read" in log, log
    assert "new=1 alerts=1" in log, log  # the fresh entry; the known one is an edit
    bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
    sent = sorted((i["guid"], i["title"]) for body in bodies for i in body["items"])
    assert sent == [("CAFÉ®-1", "Known story"), ("g-9", "ÉTÉ® story")], sent  # once each
    assert reading(cfg, "wire") == "label"


def as_before(state: Path, url: str, renamed: dict[str, str]) -> None:
    """The state an earlier version left for feed ``url``: no reading kept, its items
    under the keys that version gave them (``{key now: key then}``)."""
    from monitor.store.items import Items
    from monitor.store.sqlite import Store

    store = Store.open(state)
    try:
        assert Items(store).rename_keys(url, renamed) == len(renamed)
        with store.transaction():
            store.conn.execute("UPDATE feeds SET charset_reading = NULL")
    finally:
        store.close()
