"""Upgrading a running install: stored identities carry over, no alert is sent twice.

``tests/data/upgrade/state-v0`` was written by news-monitor before guids were kept
as written (it resolved ``<guid>72122</guid>`` into ``http://host/feeds/72122``,
cut guids at 500 characters and kept one of three items sharing a guid); see
``make_state.py`` there. The new code, on the same feeds, must alert nothing it
alerted before.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

from tests.conftest import run_cli, write_config

UPGRADE = Path(__file__).parent.parent / "data" / "upgrade"
LONG_GUID = "urn:example:" + "g" * 600
NAMES = ("bare-guid-poll1.xml", "shared-guid.xml", "long-guid.xml")


def state_moved_to(tmp_path: Path, origin: str) -> Path:
    """A copy of the old state directory, its feeds moved to ``origin``."""
    state = tmp_path / "state"
    shutil.copytree(UPGRADE / "state-v0", state)
    old = (state / "ORIGIN").read_text().strip()
    with sqlite3.connect(state / "monitor.db") as conn:
        conn.execute("UPDATE feeds SET url = replace(url, ?, ?)", (old, origin))
        conn.execute(
            "UPDATE items SET feed_url = replace(feed_url, ?, ?), "
            "item_key = replace(item_key, ?, ?), data = replace(data, ?, ?)",
            (old, origin) * 3,
        )
    return state


def alerted_titles(stdout: str) -> list[str]:
    return sorted(re.findall(r"^\* (.+)$", stdout, re.MULTILINE))


def test_upgrade_sends_nothing_twice_and_guids_survive_a_move(tmp_path, http_server):
    for name in ("bare-guid-poll1.xml", "shared-guid.xml"):
        http_server.route(f"/feeds/{name}", (UPGRADE / name).read_bytes())
    http_server.route(
        "/feeds/long-guid.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Long</title>'
        f"<item><title>Report with a long guid</title><guid>{LONG_GUID}</guid>"
        "<link>https://example.org/long</link></item></channel></rss>",
    )
    state = state_moved_to(tmp_path, http_server.base_url)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(state),
            "allow_private_networks": True,
            "feeds": [{"url": http_server.url(f"/feeds/{n}"), "backfill": "all"} for n in NAMES],
            "rules": [{"name": "all", "query": "build OR suite OR report"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # The two items the old version dropped (they shared guid N/A) alert now; nothing
    # it had alerted (72122, 72121, 16.90, the long guid) alerts again.
    assert alerted_titles(first.stdout) == ["Suite 16.88 released", "Suite 16.89 released"], (
        first.stderr
    )
    assert "carried over to their guid as written" in first.stderr
    with sqlite3.connect(state / "monitor.db") as conn:
        keys = {k for (k,) in conn.execute("SELECT item_key FROM items")}
    assert {"72122", "72121", LONG_GUID} <= keys

    # The feed moves (301) to a URL serving one more item: exactly that one alerts.
    http_server.route("/moved/build.xml", (UPGRADE / "bare-guid-poll2-after-301.xml").read_bytes())
    http_server.route(
        "/feeds/bare-guid-poll1.xml",
        b"",
        status=301,
        headers={"Location": http_server.url("/moved/build.xml")},
    )
    second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert alerted_titles(second.stdout) == ["Build 72123 passed"]
    third = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert alerted_titles(third.stdout) == []
