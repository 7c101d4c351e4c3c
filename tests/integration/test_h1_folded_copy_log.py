"""A copy that joins a story already alerted is not logged as alerted again
(operator review, defect C).

Outlet A carries a story; at the next poll Outlet B carries a copy (same link). The
copy joins A's story, whose alert on each channel is already queued or sent, so
nothing is queued for it: its match line must not say "alerts to".
"""

from __future__ import annotations

import pytest

from monitor.recording import match_fate
from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.integration


def rss(*items: tuple[str, str]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example/pompeo-seoul</link>"
        f"<guid>{guid}</guid><description>Pompeo meets the minister in Seoul.</description></item>"
        for guid, title in items
    )
    return f'<rss version="2.0"><channel><title>c</title>{body}</channel></rss>'


def test_a_folded_copy_says_it_joins_an_alerted_story(tmp_path, http_server):
    types = {"Content-Type": "application/rss+xml"}
    http_server.route("/a.xml", rss(("urn:a:1", "Pompeo in Seoul")), headers=types)
    http_server.route("/b.xml", rss(), headers=types)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"backfill": "all"},
            "feeds": [
                {"name": "Outlet A", "url": http_server.url("/a.xml")},
                {"name": "Outlet B", "url": http_server.url("/b.xml")},
            ],
            "rules": [{"name": "pp", "query": "Pompeo", "notify": ["mail", "hook"]}],
            "channels": {"mail": {"type": "console"}, "hook": {"type": "console"}},
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "item='urn:a:1' story=1 matched, alerts to mail, hook" in first.stderr, first.stderr

    http_server.route("/b.xml", rss(("urn:b:2", "Pompeo in Seoul, copy")), headers=types)
    second = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    log = second.stderr
    assert "feed='Outlet B' item='urn:b:2' joins story 1 (same link)" in log, log
    assert (
        "feed='Outlet B' rule='pp' item='urn:b:2' story=1 matched; joins story 1, whose "
        "alert on mail, hook is already queued or sent (not sent again)"
    ) in log, log
    assert "alerts to" not in log  # nothing was queued: no line may say so
    assert "feed='Outlet B' items=1 parsed=1 new=1 alerts=0" in log, log


def test_match_fate_names_only_the_channels_alerted():
    assert match_fate(("mail", "hook"), ["mail", "hook"], True, None) == ", alerts to mail, hook"
    assert match_fate(("mail", "hook"), ["hook"], True, 6) == (
        ", alerts to hook; joins story 6, whose alert on mail is already queued or sent "
        "(not sent again)"
    )
    assert match_fate(("mail",), [], False, 6) == ", not alerted (backfill)"
    assert match_fate((), [], True, None) == ", not alerted: the rule notifies no channel"
