"""``status`` and ``history`` without a config that loads, their names and their
numbers (operator review): a rule's unalerted matches with no reason claimed that the
database cannot give, ``history`` beside a broken config, an unknown ``--rule``, and
the store's size and the times on a small state.

The feed is a file; the CLI runs in subprocesses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import run_cli, write_config

FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
    "<item><title>Pompeo lands</title><link>http://127.0.0.1:9/n/1</link>"
    '<guid isPermaLink="false">g-1</guid><description>Pompeo lands.</description></item>'
    "</channel></rss>"
)


def setup(tmp_path: Path) -> Path:
    """A feed (first poll: backfill holds its match back), a rule notifying no channel,
    one pass of ``run --once``; the config's path."""
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": f"file:{feed}", "name": "Wire"}],
            "rules": [
                {"name": "silent", "query": "Pompeo", "notify": []},
                {"name": "loud", "query": "Pompeo"},
            ],
            "channels": {"out": {"type": "console"}},
        },
    )
    once = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    return config


def cli(config: Path, *args: str) -> object:
    return run_cli(*args, "--config", str(config), cwd=config.parent)


def test_status_without_a_config_claims_no_reason_it_cannot_know(tmp_path):
    config = setup(tmp_path)
    with_config = cli(config, "status").stdout
    assert "silent: 1 match in 24 h, 1 in 30 d; notifies no channel" in with_config
    assert "loud: 0 matches in 24 h, 0 in 30 d; 1 more at first polls, not alerted (backfill)" in (
        with_config
    )
    config.rename(tmp_path / "elsewhere.yaml")
    state = str(tmp_path / "state")
    without = run_cli("status", "--state-dir", state, "--config", str(config), cwd=tmp_path)
    assert without.returncode == 1 and "CONFIG ERROR" in without.stdout
    assert "(backfill)" not in without.stdout and "notifies no channel" not in without.stdout
    assert "silent: 0 matches in 24 h, 0 in 30 d; 1 more at first polls, not alerted\n" in (
        without.stdout
    )


def test_history_beside_a_broken_config_shows_a_banner_then_the_history(tmp_path):
    config = setup(tmp_path)
    config.write_text(config.read_text() + "rules: [\n")  # a failed edit: the daemon runs on
    shown = cli(config, "history")
    assert shown.returncode == 1, shown.stderr
    assert shown.stderr.startswith("CONFIG ERROR: ")
    assert "(the daemon runs on the config it loaded before; fix and reload)" in shown.stderr
    assert "rule silent  feed Wire" in shown.stdout
    # without a config, why a first poll's match was not alerted is not claimed
    assert "not alerted: no alert queued (recorded at its feed's first poll)" in shown.stdout
    assert "backfill" not in shown.stdout
    unknown = cli(config, "history", "--rule", "nosuch")
    assert unknown.returncode == 2 and "unknown rule 'nosuch' (rules: loud, silent;" in (
        unknown.stderr
    )
    (tmp_path / "state" / "monitor.db").rename(tmp_path / "moved.db")
    nothing = cli(config, "history")
    assert nothing.returncode == 2 and "CONFIG ERROR" in nothing.stderr
    assert "no state in" in nothing.stderr


def test_history_rule_unknown_to_config_and_database_is_an_error(tmp_path):
    config = setup(tmp_path)
    unknown = cli(config, "history", "--rule", "nosuch")
    assert unknown.returncode == 2
    assert "unknown rule 'nosuch' (rules: silent, loud;" in unknown.stderr
    text = config.read_text().replace("- name: silent", "- name: renamed")
    config.write_text(text)  # taken out of the config, still in the database
    kept = cli(config, "history", "--rule", "silent")
    assert kept.returncode == 0 and "rule silent  feed Wire" in kept.stdout
    channel = cli(config, "history", "--channel", "nosuch")
    assert channel.returncode == 2 and "unknown channel 'nosuch'" in channel.stderr


def test_status_on_a_small_state_shows_seconds_and_no_per_item_cost(tmp_path):
    config = setup(tmp_path)
    lines = cli(config, "status").stdout.splitlines()
    (state,) = [line for line in lines if line.startswith("STATE ")]
    assert state.endswith("1 item (bytes per item not meaningful below 1,000 items)"), state
    (feed,) = [line for line in lines if line.startswith("  Wire:")]
    assert re.search(r"last success \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; ", feed), feed
    assert re.search(r"next poll \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", feed), feed


def test_a_broken_store_section_never_falls_back_to_an_old_sqlite_state(tmp_path):
    """After ``store copy`` the SQLite file stays in state_dir as a backup. A config
    whose ``store:`` does not load must not show that stale file as the state
    (scale-out trial): one line, with the banner, exit 2."""
    config = setup(tmp_path)  # a monitor.db from SQLite days
    text = config.read_text()
    config.write_text(text + "store:\n  url: postgresql://news:pw@db1.internal/news_monitor\n")
    for command in ("status", "history"):
        shown = cli(config, command)
        assert shown.returncode == 2, (command, shown.stdout)
        assert shown.stdout == "" and "Traceback" not in shown.stderr
        assert "CONFIG ERROR" in shown.stderr and "a password in the URL" in shown.stderr
        assert shown.stderr.endswith(
            f"news-monitor: {config} names a PostgreSQL store (store:) and does not load:"
            " fix it to read the state (a monitor.db in state_dir is not the state)\n"
        ), command


MALFORMED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
    "<item><guid>a</guid><title>Pompeo news one</title></item>"
    "<item><guid>b</guid><title>Pompeo broken</titel></item>"
    "<item><guid>c</guid><title>Pompeo three</title></item></channel></rss>"
)


def test_a_feed_read_with_a_warning_shows_it_in_status_until_it_reads_cleanly(tmp_path):
    """A malformed document is read loosely and may lose entries: the feed is ok, but
    its warning was only a log line (hostile-feed trial). status shows the last parse's
    warning, in text and --json, and drops it once the document parses cleanly."""
    feed = tmp_path / "feed.xml"
    feed.write_text(MALFORMED)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": f"file:{feed}", "name": "Wire", "backfill": "all"}],
            "rules": [{"name": "p", "query": "Pompeo"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    assert cli(config, "run", "--once").returncode == 0
    text = cli(config, "status").stdout
    (line,) = [s for s in text.splitlines() if "had a warning" in s]
    assert re.fullmatch(
        r"    last parse \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC had a warning: "
        r"SAXParseException: .*mismatched tag",
        line,
    ), line
    (entry,) = json.loads(cli(config, "status", "--json").stdout)["feeds"]
    assert "mismatched tag" in entry["parse_warning"]
    assert entry["parse_warning_at"].endswith("Z")
    feed.write_text(MALFORMED.replace("</titel>", "</title>"))
    assert cli(config, "run", "--once").returncode == 0
    assert "had a warning" not in cli(config, "status").stdout
    (entry,) = json.loads(cli(config, "status", "--json").stdout)["feeds"]
    assert (entry["parse_warning"], entry["parse_warning_at"]) == (None, None)
