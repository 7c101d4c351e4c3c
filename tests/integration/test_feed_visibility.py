"""A feed that parses with a warning is seen at ``journalctl -p warning``, and its
poll line counts its entries (operator review, defects A1 and A2).

docs/operations.md: ``items`` is the entries in the feed, ``parsed`` those new or
edited, read in full. A malformed document (a mismatched tag) is read whole by
feedparser's loose parser, and the pre-scan of entry ids is unsure of it (an entry
without a guid or link), so it used to say ``items=0 parsed=2``.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.integration

BROKEN = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>B</title>'
    "<item><title>Pompeo in Seoul</title><guid>b1</guid><description>hi</b></description>"
    "</item><item><title>Pompeo, no id</title><description>no guid, no link</description>"
    "</item></channel></rss>"
)


def test_a_malformed_feed_is_a_warning_and_its_counts_agree(tmp_path, http_server):
    http_server.route("/broken.xml", BROKEN, headers={"Content-Type": "application/rss+xml"})
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"backfill": "all"},
            "feeds": [{"name": "Broken XML", "url": http_server.url("/broken.xml")}],
            "rules": [{"name": "pp", "query": "Pompeo"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    once = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    lines = once.stderr.splitlines()
    warned = [x for x in lines if "feed='Broken XML' parsed with a warning" in x]
    assert len(warned) == 1 and " WARNING " in warned[0], once.stderr
    assert "mismatched tag" in warned[0]
    assert "feed='Broken XML' items=2 parsed=2 new=2 alerts=2" in once.stderr, once.stderr
    # still a poll that worked: no "poll failed", and the feed's entries were alerted
    assert "poll failed" not in once.stderr
