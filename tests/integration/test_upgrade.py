"""Upgrading a running install: stored identities carry over, no alert is sent twice.

``tests/data/upgrade/state-v0`` was written by news-monitor before guids were kept
as written (it resolved ``<guid>72122</guid>`` into ``http://host/feeds/72122``,
cut guids at 500 characters and kept one of three items sharing a guid); see
``make_state.py`` there. The new code, on the same feeds, must alert nothing it
alerted before.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

from monitor.cli.messages import REMOVED_WAITING
from monitor.store.codec import parse_ts
from monitor.store.history import split_baseline
from monitor.store.schema import MIGRATIONS
from monitor.store.sqlite import Store
from monitor.store.status import rule_counts
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
    # Carried over as the feed's parse meets them, or all at once where the feed is
    # read anew at this poll (ingest/carryover.py pairs former keys too).
    assert re.search(r"carried over to their (guid as written|keys as now read)", first.stderr)
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


# --- schema 10 to 11 (issue #18): the compact item schema -----------------------------

STATE_V10 = UPGRADE / "state-v10"


def test_a_schema_10_state_migrates_with_its_history_baseline_and_alerts(tmp_path, http_server):
    """``state-v10`` (make_state_v10.py) migrated to the compact schema reads back as
    schema 10's own ``history`` and ``status`` read it, and the daemon goes on from it:
    the edited baseline item does not alert, nothing alerts twice, a new item alerts."""
    state = tmp_path / "state"
    shutil.copytree(STATE_V10, state)
    Store.open(state).close()  # the daemon's start: migrates
    with sqlite3.connect(state / "monitor.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(items)")}
        assert {"feed_id", "key_hash", "url_hash"} <= columns and "feed_url" not in columns
        # every match was recorded at its item's first sight: no time of its own
        timed = conn.execute("SELECT COUNT(*) FROM matches WHERE created_at IS NOT NULL")
        assert timed.fetchone() == (0,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    config = v10_config(tmp_path, state, http_server)
    history = run_cli("history", "--json", "--config", str(config), cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    shown = json.loads(history.stdout)
    # no_channel came later (a rule that notifies no channel): every rule here has one
    assert all(m.pop("no_channel") is False for m in shown["matches"])
    # so did what a pending alert waits for (a disabled channel, quiet hours) and how far
    # a message that stopped partway got (Slack parts, email recipients): none here
    # (a pending alert of the fixture's webhook, which this config leaves out, waits for
    # its channel to be back)
    for alert in (c for m in shown["matches"] for c in m["channels"]):
        removed = alert["channel"] != "console" and alert["status"] == "pending"
        waiting = alert.pop("waiting")
        assert waiting == (REMOVED_WAITING if removed else None), alert
        assert alert.pop("held_until") is None
        assert alert.pop("progress") is None
    assert shown == json.loads((STATE_V10 / "history.json").read_text())
    now = parse_ts((STATE_V10 / "NOW").read_text().strip()) + timedelta(hours=1)
    store = Store.open(state)
    try:
        counts = split_baseline(store.conn, rule_counts(store, now), now)
    finally:
        store.close()
    assert counts == json.loads((STATE_V10 / "status-rules.json").read_text())

    origin = (STATE_V10 / "ORIGIN").read_text().strip()
    with sqlite3.connect(state / "monitor.db") as conn:  # the feeds move to this server
        for table, column in (("feeds", "url"), ("feed_refs", "url")):
            conn.execute(
                f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                (origin, http_server.base_url),
            )
    for name, body in v10_feeds().items():
        http_server.route(f"/feeds/{name}.xml", body)
    config = v10_config(tmp_path, state, http_server)
    again = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "feed='quiet' items=7 parsed=1 new=0 alerts=0" in again.stderr  # the edit
    assert alerted_titles(again.stdout) == []  # q-lead edited once more: no second alert
    assert "updated, now matches" not in again.stderr

    http_server.route("/feeds/wire.xml", v10_feeds(extra=True)["wire"])
    last = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert last.returncode == 0, last.stderr
    assert alerted_titles(last.stdout) == ["Pompeo leaves Pyongyang"]


def v10_feeds(extra: bool = False) -> dict[str, str]:
    """The fixture's feeds (make_state_v10.py), ``q-lead`` edited once more; with
    ``extra`` a new matching item in ``wire``."""
    make = load_make_state_v10()
    feeds = {
        "quiet": make.quiet(second=True).replace("Pompeo arrived late.", "Pompeo left."),
        "other": make.rss("Other", make.item("o-1", "Weather", "https://o.example/1")),
    }
    wire = [
        make.item(
            "w-1", "Pompeo, envoy meet in Pyongyang", "https://q.example/tracked?id=7", "Short."
        ),
        make.item("w-2", "Tariffs on steel rise", "https://w.example/2"),
    ]
    if extra:
        wire.insert(0, make.item("w-3", "Pompeo leaves Pyongyang", "https://w.example/3"))
    feeds["wire"] = make.rss("Wire", *wire)
    return feeds


def v10_config(tmp_path: Path, state: Path, http_server) -> Path:
    """The fixture's config on this test's server, without the webhook on a closed port."""
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(state),
            "allow_private_networks": True,
            "feeds": [
                {"name": name, "url": http_server.url(f"/feeds/{name}.xml"), "backfill": backfill}
                for name, backfill in (("quiet", 0), ("other", "all"), ("wire", "all"))
            ],
            "rules": [
                {"name": "pp", "query": "Pompeo AND Pyongyang", "notify": ["console"]},
                {"name": "tariffs", "query": "tariffs", "notify": ["console"]},
            ],
            "channels": {"console": {"type": "console"}},
        },
    )


def load_make_state_v10():
    """tests/data/upgrade/make_state_v10.py as a module (it writes the feeds)."""
    spec = importlib.util.spec_from_file_location("make_state_v10", UPGRADE / "make_state_v10.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_status_and_preview_leave_an_older_state_to_the_daemon_to_migrate(tmp_path, http_server):
    """After an upgrade, before the daemon of the new version ran: ``status`` and
    ``preview`` only read, so they refuse to migrate (a daemon of the old version may
    still have the state open) and say what to do, in one line."""
    state = tmp_path / "state"
    shutil.copytree(STATE_V10, state)
    config = v10_config(tmp_path, state, http_server)
    expected = (
        f"news-monitor: state database {state / 'monitor.db'} is at schema 10, this"
        f" news-monitor reads schema {len(MIGRATIONS)}: start `news-monitor run` of this"
        " version once to migrate it (reports never write the state)\n"
    )
    for command in ("status", "preview"):
        shown = run_cli(command, "--config", str(config), cwd=tmp_path)
        assert (shown.returncode, shown.stderr) == (2, expected), command
    (config.parent / "monitor.yaml").write_text("feeds: [\n")  # status without a config
    shown = run_cli("status", "--config", str(config), "--state-dir", str(state), cwd=tmp_path)
    assert shown.returncode == 2 and shown.stderr.endswith(expected), shown.stderr
    assert sorted(p.name for p in state.iterdir()) == sorted(p.name for p in STATE_V10.iterdir())
    with sqlite3.connect(state / "monitor.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (10,)
