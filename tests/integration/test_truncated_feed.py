"""A document that is not well-formed never replaces stored text with its remains
(operator review, defect A3; the rule is monitor/ingest/partial.py).

A real HTTP server serves a good feed, then the same feed cut off inside its last
entry (``head -c``), then one whose CDATA section is left open; ``run --once`` polls
each in a subprocess, and the stored items are read back from the state database.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.integration

SUMMARIES = {
    "g1": "Pompeo arrives in Seoul for talks with the minister about trade.",
    "g2": "Rain is expected over the capital for the coming days, then sun.",
    "g3": "Pompeo is due to meet the foreign minister again next week in Tokyo.",
}


def item(guid: str, summary: str, cdata: bool = False) -> str:
    text = f"<![CDATA[{summary}" if cdata else summary  # cdata: left open
    return (
        f"<item><title>Story {guid} (Pompeo)</title><link>http://example.com/{guid}</link>"
        f"<guid>{guid}</guid><description>{text}</description></item>\n"
    )


def feed(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T'
        "</title><link>http://example.com/</link><description>d</description>\n"
        + "".join(items)
        + "</channel></rss>\n"
    ).encode()


def good_feed() -> bytes:
    return feed(*(item(guid, text) for guid, text in SUMMARIES.items()))


def poll(tmp_path, http_server, body: bytes, rules: tuple[str, ...] = ("Pompeo",)):
    http_server.route("/feed.xml", body, headers={"Content-Type": "application/rss+xml"})
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"backfill": "all"},
            "feeds": [{"name": "Outlet", "url": http_server.url("/feed.xml")}],
            "rules": [{"name": q.lower()[:2], "query": q} for q in rules],
            "channels": {"out": {"type": "console"}},
        },
    )
    once = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert "Traceback" not in once.stderr, once.stderr
    return once.stderr


def stored(tmp_path) -> dict[str, dict]:
    """Each stored item's data (full rows: JSON objects) by its key."""
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as conn:
        rows = conn.execute("SELECT item_key, data FROM items").fetchall()
    return {key: json.loads(data) for key, data in rows}


def test_a_truncated_feed_keeps_the_stored_text_and_records_complete_new_items(
    tmp_path, http_server
):
    good = good_feed()
    first = poll(tmp_path, http_server, good)
    assert "feed='Outlet' items=3 parsed=3 new=3 alerts=3" in first, first
    before = stored(tmp_path)
    assert {k: v["summary"] for k, v in before.items()} == SUMMARIES

    # The same feed with a new (complete) item first, cut off inside g3's summary.
    whole = feed(item("g0", "Pompeo lands in Seoul."), *(item(g, t) for g, t in SUMMARIES.items()))
    cut = whole[: whole.index(b"foreign minister")]
    second = poll(tmp_path, http_server, cut)
    lines = second.splitlines()
    assert any(
        "WARNING" in line and "feed='Outlet' parsed with a warning: SAXParseException" in line
        for line in lines
    ), second
    assert any(
        "WARNING" in line and "feed='Outlet' item 4 skipped: incomplete" in line for line in lines
    ), second
    # items: every entry of the document (the cut one too); parsed: those read in full
    assert "feed='Outlet' items=4 parsed=3 new=1 alerts=1" in second, second
    after = stored(tmp_path)
    assert after["g3"] == before["g3"]  # not replaced by "Pompeo is due to meet the "
    assert after["g0"]["summary"] == "Pompeo lands in Seoul."
    assert "rule='po' item='g0'" in second and "item='g3' updated" not in second

    # Served whole again: nothing was lost, nothing is new or edited.
    third = poll(tmp_path, http_server, whole)
    assert "feed='Outlet' items=4 parsed=" in third and "new=0 alerts=0" in third, third
    assert stored(tmp_path)["g3"] == before["g3"]


def test_an_edit_that_a_broken_document_empties_is_not_taken(tmp_path, http_server):
    poll(tmp_path, http_server, good_feed())
    before = stored(tmp_path)
    # g1's CDATA section is left open: the loose parser reads g1 without its summary
    # (and swallows the entries after it). A real edit in the same document is taken.
    broken = feed(item("g2", "Sun at last."), item("g1", SUMMARIES["g1"], cdata=True))
    log = poll(tmp_path, http_server, broken)
    assert "WARNING" in log and "parsed with a warning: SAXParseException" in log, log
    line = next(x for x in log.splitlines() if "item='g1' not updated" in x)
    assert "WARNING" in line and "summary came out empty (stored text kept)" in line, line
    after = stored(tmp_path)
    assert after["g1"] == before["g1"]
    assert after["g2"] != before["g2"]  # a field that changed but is not empty: an edit


def test_an_edit_refused_in_a_broken_document_is_taken_once_it_is_served_well_formed(
    tmp_path, http_server
):
    """g1 is edited (a new title, its summary dropped) in a document another entry
    breaks: the edit is refused there, and its signature is not kept, so the same g1
    bytes are read again (and the edit taken) once the document is well-formed."""
    rules = ("Pompeo", "Kim")
    poll(tmp_path, http_server, good_feed(), rules)
    edited = item("g1", "").replace("(Pompeo)", "(Pompeo, Kim)")
    bad_g2 = item("g2", SUMMARIES["g2"]).replace("Rain", "<b>Rain")  # a mismatched tag
    log = poll(tmp_path, http_server, feed(edited, bad_g2), rules)
    assert "item='g1' not updated" in log, log
    log = poll(tmp_path, http_server, feed(edited, item("g2", SUMMARIES["g2"])), rules)
    assert "item='g1' updated, now matches ki" in log and "alerts=1" in log, log
    assert stored(tmp_path)["g1"]["title"] == "Story g1 (Pompeo, Kim)"


def test_entries_a_broken_document_swallowed_are_recorded_once_it_is_fixed(tmp_path, http_server):
    """An open CDATA section hides the entries after it from the loose parser; their
    signatures are not kept as if they had been read."""
    poll(tmp_path, http_server, feed(item("g2", SUMMARIES["g2"])))
    new = item("g1", SUMMARIES["g1"])
    broken = feed(item("g2", SUMMARIES["g2"], cdata=True), new)
    log = poll(tmp_path, http_server, broken)
    assert "new=0" in log and "g1" not in stored(tmp_path), log
    log = poll(tmp_path, http_server, feed(item("g2", SUMMARIES["g2"]), new))
    assert "new=1 alerts=1" in log and "rule='po' item='g1'" in log, log
