"""A first poll's backlog (backfill: 0) recorded cheaply and compactly, and still known
to dedup: a later copy of a backlog item in another feed joins its story
(docs/dedup.md, *What is stored*)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from monitor.cli.statusinfo import storage, storage_line
from monitor.store.itemcodec import unpack_item
from monitor.store.sqlite import Store
from tests.conftest import run_cli
from tests.integration.test_stories import FILLER, rss_item
from tests.integration.test_story_folding import config, rss, run_once

RULES = {"pp": "Pompeo AND Pyongyang"}
LEAD_BODY = "Pompeo is expected in Pyongyang next week for talks. " + FILLER
QUIET_BODY = "The central bank kept its rate unchanged on Thursday, citing prices. " + FILLER


def backlog() -> str:
    """Feed A at its first poll: one item the rule matches, twenty it does not."""
    lead = rss_item("Pompeo to visit Pyongyang", LEAD_BODY, "a-lead", "https://a.example/lead")
    quiet = [
        rss_item(
            f"Rates on hold {n}", f"Report {n}. " + QUIET_BODY, f"a-{n}", f"https://a.example/{n}"
        )
        for n in range(20)
    ]
    return rss(lead, *quiet)


def rows(db: Path) -> dict[str, tuple]:
    """item_key -> (story_id, data, match data or None) of every stored item."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT i.item_key, i.story_id, i.data, m.data FROM items i "
            "LEFT JOIN matches m ON m.item_id = i.id"
        ).fetchall()
    return {key: (story, data, match) for key, story, data, match in found}


def test_a_backlog_is_stored_slim_and_later_copies_join_its_stories(tmp_path, http_server):
    http_server.route("/a.xml", backlog())
    quiet_a = {"/a.xml": 0}
    path = config(tmp_path, http_server, ["/a.xml"], RULES, backfill=quiet_a)
    assert run_once(path, http_server) == []  # backfill: nothing alerted

    db = tmp_path / "state" / "monitor.db"
    first = rows(db)
    story, data, match = first["a-lead"]
    assert match == "{}"  # matched: the rule's name alone (no terms, no highlights)
    # held back by backfill, so no message will show it: slim like the rest (#18)
    stored = unpack_item(data)
    assert not stored.full and stored.item.summary == "" and "f" not in json.loads(data)
    for n in range(20):
        _, data, match = first[f"a-{n}"]
        assert match is None
        assert not unpack_item(data).full and "summary" not in data  # slim: no text
        assert len(data.encode()) < 160

    status = run_cli("status", "--json", "--config", str(path), cwd=tmp_path)
    (rule,) = json.loads(status.stdout)["rules"]
    assert (rule["matches_30d"], rule["baseline_30d"]) == (0, 1)  # a baseline match

    # Feed B: the lead again under its link, and a quiet item's text under a new title
    # that names the rule's words: each joins its backlog story.
    same_link = rss_item(
        "Pompeo heads to Pyongyang", "Short wire copy.", "b-1", "https://a.example/lead"
    )
    same_text = rss_item(
        "Pompeo and Pyongyang: rates on hold",
        "Report 3. " + QUIET_BODY,
        "b-2",
        "https://b.example/2",
    )
    http_server.route("/b.xml", rss(same_link, same_text))
    path = config(tmp_path, http_server, ["/a.xml", "/b.xml"], RULES, backfill=quiet_a)
    stories = run_once(path, http_server)
    shown = {s["guid"]: [d["guid"] for d in s["duplicates"]] for s in stories}
    # each copy is shown with its own text; the backlog item is listed under it
    assert shown == {"b-1": ["a-lead"], "b-2": ["a-3"]}
    after = rows(db)
    assert after["b-1"][0] == after["a-lead"][0]
    assert after["b-2"][0] == after["a-3"][0]
    assert run_once(path, http_server) == []  # once, ever


def test_storage_reports_bytes_per_item(tmp_path, http_server):
    http_server.route("/a.xml", backlog())
    path = config(tmp_path, http_server, ["/a.xml"], RULES, backfill={"/a.xml": 0})
    run_once(path, http_server)
    store = Store.open(tmp_path / "state", create=False)
    try:
        info = storage(store)
    finally:
        store.close()
    size = (tmp_path / "state" / "monitor.db").stat().st_size
    assert info == {"db_bytes": size, "items": 21, "bytes_per_item": round(size / 21)}
    # 21 items are mostly SQLite's own pages: the cost per item is not shown yet
    assert storage_line(info) == (
        f"STATE {size / 1e6:.1f} MB, 21 items (bytes per item not meaningful below 1,000 items)"
    )
    many = {**info, "items": 1000, "bytes_per_item": round(size / 1000)}
    assert storage_line(many).endswith(f", 1,000 items, {round(size / 1000):,} bytes per item")
