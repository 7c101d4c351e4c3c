"""A UTF-8 feed declared ISO-8859-1 is read as UTF-8, and what earlier versions stored
from it is carried over, not alerted again (hostile-feed trial: ``CafÃ© ZÃ¼rich``).

Earlier versions read such a document as declared. An item with neither guid nor link
is identified by its text, so reading the document right gives it a new id: without
its former key (the text id of the mojibake) it would be a new item and alert twice.
The earlier reading is reproduced by serving its text as a well-formed UTF-8 document
first; the CLI runs in a subprocess over a file feed.
"""

from __future__ import annotations

import json

from tests.conftest import run_cli, write_config

HEAD = '<?xml version="1.0" encoding="iso-8859-1"?>'
ITEM = (
    "<item><title>Pompeo in Zürich — “talks”</title><description>Café talks.</description></item>"
)


def rss(item: str, head: str) -> str:
    return f'{head}<rss version="2.0"><channel><title>t</title>{item}</channel></rss>'


def test_reading_a_misdeclared_feed_right_alerts_nothing_twice(tmp_path):
    feed = tmp_path / "feed.xml"
    misread = ITEM.encode().decode("cp1252", "replace")  # what an earlier version saw
    feed.write_bytes(rss(misread, '<?xml version="1.0" encoding="utf-8"?>').encode())
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": f"file:{feed}", "name": "Wire", "backfill": "all"}],
            "rules": [{"name": "pompeo", "query": "Pompeo"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0 and first.stderr.count("alerts to out") == 1, first.stderr
    feed.write_bytes(rss(ITEM, HEAD).encode())  # the document as published: UTF-8
    second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "alerts to out" not in second.stderr, second.stderr
    assert "but the bytes are UTF-8: read as UTF-8" in second.stderr
    shown = json.loads(run_cli("history", "--json", "--config", str(config), cwd=tmp_path).stdout)
    (match,) = shown["matches"]
    assert match["title"] == "Pompeo in Zürich — “talks”"
