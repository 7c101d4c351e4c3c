"""A UTF-8 feed that declares ISO-8859-1, polled by a daemon on PostgreSQL (``store:``):
its reading is decided at the first poll, kept on its row under the poll's claim, and
later polls (which parse only the changed entry) read alike (monitor/ingest/mislabel.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, query, start, wait_until

pytestmark = [pytest.mark.integration]

HEAD = '<?xml version="1.0" encoding="iso-8859-1"?>'


def document(*items: tuple[str, str]) -> str:
    """An RSS document declared ISO-8859-1 of (guid, title) items about Pompeo."""
    body = "".join(
        f'<item><title>{title}</title><guid isPermaLink="false">{guid}</guid>'
        f"<description>Pompeo in Pyongyang, part {guid}.</description></item>"
        for guid, title in items
    )
    return f'{HEAD}<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def titles(server: FeedServer) -> set[str]:
    """Every title the webhook received."""
    bodies = [json.loads(r.body) for r in server.requests_to("/hook")]
    return {item["title"] for body in bodies for item in body["items"]}


def test_the_reading_is_kept_under_the_claim_and_holds_for_later_polls(
    tmp_path: Path, pg_db: str
) -> None:
    first = [("p-1", "Pompeo’s “talks” in Zürich"), ("p-2", "Pompeo: Café diplomacy")]
    later = ("p-3", "Pompeo’s résumé")  # alone: 2 distinct UTF-8 characters
    with FeedServer() as server:
        server.route("/feed.xml", document(*first).encode())
        feeds = [{"name": "wire", "url": server.url("/feed.xml"), "interval": "2s"}]
        daemon = start(config(tmp_path, pg_db, server, feeds), tmp_path / "instance")
        try:
            wait_until(lambda: len(titles(server)) == 2, "the first poll's alerts", logs=[daemon])
            server.route("/feed.xml", document(later, *first).encode())
            wait_until(lambda: len(titles(server)) == 3, "the new item's alert", logs=[daemon])
            assert daemon.stop() == 0, daemon.log
        finally:
            daemon.kill()
    assert titles(server) == {title for _, title in [*first, later]}
    assert daemon.log.count("charset decided") == 1, daemon.log
    assert "items=3 parsed=1 new=1" in daemon.log, daemon.log
    rows = query(pg_db, "SELECT charset_reading, parse_warning FROM feeds")
    assert [r[0] for r in rows] == ["utf-8"] and "read as UTF-8" in rows[0][1]
