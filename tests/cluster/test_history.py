"""``history`` with ``store:`` reads the PostgreSQL database, and only reads it.

A real daemon on PostgreSQL alerts one item through the webhook; stopped, ``history``
(the CLI in a subprocess, same config) lists the match with the message that carried
it, and ``--message`` shows that message. On a database no news-monitor has run on,
``history`` says there is no state and creates nothing (no migration).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cluster.harness import FeedServer, config, daemons, query, rss, wait_until
from tests.conftest import run_cli

pytestmark = [pytest.mark.integration]

ITEM = ("hist-1", "Pompeo in Pyongyang, history", "Pompeo flew to Pyongyang.")


def test_history_reads_the_postgresql_store(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        server.route("/h.xml", rss([ITEM]))
        path = config(tmp_path, pg_db, server, [{"url": server.url("/h.xml"), "interval": "2s"}])
        with daemons(path, 1) as (daemon,):
            wait_until(lambda: server.hook_copies(), "the alert", logs=[daemon])
            assert daemon.stop() == 0, daemon.log
    (sent_id,) = server.hook_copies()["hist-1"]
    migrations = query(pg_db, "SELECT COUNT(*) FROM schema_migrations")
    listed = run_cli("history", "--config", str(path), "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (match,) = json.loads(listed.stdout)["matches"]
    assert match["rule"] == "pompeo"
    (alert,) = match["channels"]
    assert (alert["channel"], alert["status"], alert["message_id"]) == ("hook", "sent", sent_id)
    shown = run_cli("history", "--config", str(path), "--message", sent_id, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Pompeo in Pyongyang, history" in shown.stdout
    missing = run_cli("history", "--config", str(path), "--message", "nope", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no message 'nope' in PostgreSQL" in missing.stdout
    assert query(pg_db, "SELECT COUNT(*) FROM schema_migrations") == migrations


def test_history_on_an_empty_database_creates_nothing(tmp_path: Path, pg_db: str) -> None:
    with FeedServer() as server:
        path = config(tmp_path, pg_db, server, [{"url": server.url("/x.xml")}])
    result = run_cli("history", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "no state in PostgreSQL" in result.stderr
    assert query(pg_db, "SELECT to_regclass('schema_migrations') IS NULL") == [(True,)]
