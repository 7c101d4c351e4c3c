"""A feed first polled by an earlier version, read anew at its next changed body
(monitor/ingest/carryover.py, docs/feeds.md "UTF-8 declared as a legacy encoding"):
the cases where the stored items' keys must still all be carried over, through
``run --once`` (a real HTTP server on 127.0.0.1 serves the feeds and receives the
webhook; the CLI runs in a subprocess).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.models import FeedRef
from tests.integration.test_field_reread import reading
from tests.integration.test_misdeclared_charset import alerted, config, rss, run_once

UTF8 = {"Content-Type": "application/rss+xml; charset=utf-8"}
LEGACY = {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}


def as_before(state: Path, url: str, body: bytes, content_type: str, now_reading: str) -> None:
    """The state an earlier version left after reading ``body``: no reading kept, each
    item under the key the old reading gives (renamed through temporary keys, so keys
    that trade places do not meet)."""
    from monitor.ingest.carryover import carried_keys
    from monitor.store.items import Items
    from monitor.store.sqlite import Store

    now = datetime.now(UTC)
    feed = FeedRef("w", url)
    found = carried_keys(body, url, content_type, feed, now, now_reading) or {}
    # Each item's own old key (the one a resolved former guid maps too is left out).
    carried = {old: new for old, new in found.items() if not old.startswith(url.rsplit("/", 1)[0])}
    assert carried, "the body reads alike both ways: nothing to simulate"
    store = Store.open(state)
    try:
        items = Items(store)
        aside = {new: f"aside:{old}" for old, new in carried.items()}
        assert items.rename_keys(url, aside) == len(carried)
        back = {f"aside:{old}": old for old in carried}
        assert items.rename_keys(url, back) == len(carried)
        with store.transaction():
            store.conn.execute("UPDATE feeds SET charset_reading = NULL")
    finally:
        store.close()


def test_an_entry_whose_new_key_was_another_entrys_old_key_is_not_alerted_twice(
    tmp_path, http_server
):
    """``g—1`` was read ``gâ€”1`` by the old reading (its label, cp1252); an entry whose
    guid *is* ``gâ€”1`` (double-encoded by its publisher) now reads so, and was read
    ``gÃ¢â‚¬â€�1`` before. The renames chain: ``gâ€”1`` → ``g—1`` and
    ``gÃ¢â‚¬â€�1`` → ``gâ€”1``; the second must not be refused because ``gâ€”1`` was
    stored when the renames were worked out (the first one moves it away)."""
    entries = [("g—1", "A story é ü ö"), ("gâ€”1", "B story")]
    first = rss(*entries).encode()
    http_server.route("/wire.xml", first, headers=LEGACY)
    cfg = config(tmp_path, http_server, "wire")
    run_once(cfg)
    assert reading(cfg, "wire") == "utf-8"
    url = http_server.url("/wire.xml")
    as_before(cfg.parent / "state", url, first, LEGACY["Content-Type"], "utf-8")
    http_server.route("/wire.xml", rss(*entries, edited="gâ€”1").encode(), headers=LEGACY)
    log = run_once(cfg)
    assert "items=2 carried over" in log, log
    assert alerted(http_server) == sorted(entries), log  # once each


def test_a_truncated_first_changed_body_does_not_decide_the_feed(tmp_path, http_server):
    """The first changed body after the upgrade is cut off in transfer (read loosely:
    the entries after the cut are not in it). Deciding on it would carry over only the
    entries before the cut; the others, stored under their old keys, would be new
    items (alerted twice) once the publisher serves the document whole and edits
    them. A document read loosely decides nothing: the feed is read as before."""
    entries = [("CAFÉ®-1", "A story"), ("CAFÉ®-2", "B story"), ("CAFÉ®-3", "C story")]
    first = rss(*entries).encode()
    http_server.route("/wire.xml", first, headers=UTF8)
    cfg = config(tmp_path, http_server, "wire")
    run_once(cfg)
    url = http_server.url("/wire.xml")
    as_before(cfg.parent / "state", url, first, UTF8["Content-Type"], "label")
    fresh = ("g-9", "Fresh story")
    whole = rss(fresh, *entries).encode()
    cut = whole[: whole.index("CAFÉ®-2".encode()) + 20]
    http_server.route("/wire.xml", cut, headers=UTF8)
    run_once(cfg)
    http_server.route("/wire.xml", rss(fresh, *entries, edited="CAFÉ®-3").encode(), headers=UTF8)
    log = run_once(cfg)
    assert reading(cfg, "wire") == "label", log
    assert alerted(http_server) == sorted([*entries, fresh]), log  # once each
