"""``news-monitor status`` on a shared PostgreSQL store, and what it loads (issue 17).

The cluster's rows are written through the store's own lease and heartbeat functions,
as instances would; the only hand-made changes are the ones time would make (a
heartbeat 30 s old, a lease run out), set in the past so no test waits. The CLI runs
in a subprocess.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.store import pgschema
from monitor.store.cluster import heartbeat, take_channel
from monitor.store.codec import ts
from monitor.store.leases import claim_feeds, ensure_feeds
from monitor.store.postgres import PgConnection
from monitor.store.sqlite import Store
from tests.conftest import run_cli, write_config
from tests.integration.test_startup import loaded_by

SECRET_FEED = "https://wire.example/feed?token=hunter2"
OPEN_FEED = "https://news.example/rss"
LONG_AGO = "2020-01-01T00:00:00Z"
BEAT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)  # gone, not forgotten


def cluster_config(tmp_path, url: str) -> str:
    config = {
        "state_dir": str(tmp_path / "state"),
        "store": {"url": url},
        "feeds": [{"name": "wire", "url": SECRET_FEED}, {"name": "news", "url": OPEN_FEED}],
        "channels": {"ops": {"type": "console"}},
    }
    return str(write_config(tmp_path / "monitor.yaml", config))


def two_instances(url: str) -> None:
    """``alpha`` alive, holding the open feed and the channel ``ops``; ``beta`` gone
    (no heartbeat for 2 minutes), its lease of the secret feed run out long ago."""
    store = Store.open_postgres(url)
    try:
        ensure_feeds(store, [(OPEN_FEED, "news")], datetime.now(UTC))
        heartbeat(store, "beta", {"host": "h2", "pid": 22, "version": "1.0", "fenced_commits": 1})
        ensure_feeds(store, [(SECRET_FEED, "wire")], datetime.now(UTC))
        assert [c.url for c in claim_feeds(store, "beta", [SECRET_FEED], 5, 60)] == [SECRET_FEED]
        store.conn.execute(
            "UPDATE feeds SET lease_until = ? WHERE url = ?", (LONG_AGO, SECRET_FEED)
        )
        heartbeat(store, "alpha", {"host": "h1", "pid": 11, "version": "1.0", "fenced_commits": 0})
        assert [c.url for c in claim_feeds(store, "alpha", [OPEN_FEED], 5, 60)] == [OPEN_FEED]
        assert take_channel(store, "alpha", "ops", 60) == 1
        store.conn.execute(
            "UPDATE instances SET heartbeat_at = ? WHERE owner = 'beta'", (ts(BEAT),)
        )
    finally:
        store.close()


def test_status_shows_the_store_instances_leases_and_storage(tmp_path, pg_db):
    two_instances(pg_db)
    config = cluster_config(tmp_path, pg_db)
    shown = run_cli("status", "--json", "--config", config, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["store"] == {
        "backend": "postgresql",
        "url": pg_db,
        "pool_size": 10,
        "lease_seconds": 60.0,
    }
    cluster = report["cluster"]
    alpha, beta = cluster["instances"]
    assert (alpha["owner"], alpha["alive"], beta["owner"], beta["alive"]) == (
        "alpha",
        True,
        "beta",
        False,
    )
    assert (alpha["feeds_held"], alpha["channels_held"]) == (1, ["ops"])
    assert (beta["feeds_held"], beta["channels_held"]) == (0, [])
    assert beta["heartbeat_at"] == ts(BEAT)  # as stored: ISO 8601 UTC with Z
    assert cluster["fenced_commits"] == 1 and cluster["stale_count"] == 1
    (stale,) = cluster["stale_leases"]
    assert stale["kind"] == "feed" and stale["owner"] == "beta" and stale["epoch"] == 1
    assert stale["key"] == "https://wire.example/feed?…"  # redacted
    assert report["storage"]["items"] == 0 and report["storage"]["tables"]["feeds"] > 0
    assert report["storage"]["db_bytes"] == sum(report["storage"]["tables"].values())

    text = run_cli("status", "--config", config, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    start = lines.index(f"STORE PostgreSQL {pg_db}")
    assert lines[start + 1] == "INSTANCES: 1 alive, 1 gone"
    assert lines[start + 2].startswith(
        "  alpha (host h1, pid 11, version 1.0): alive, last heartbeat "
    )
    assert lines[start + 2].endswith("; holds 1 feed and channel ops")
    assert lines[start + 3] == (
        f"  beta (host h2, pid 22, version 1.0): GONE, last heartbeat {BEAT:%Y-%m-%d %H:%M:%S} UTC;"
        " holds no lease"
    )
    assert lines[start + 4] == "  fenced commits: 1 (should stay 0)"
    assert lines[start + 5] == (
        "STALE LEASES: 1 ran out without being released (taken over when due)"
    )
    assert lines[start + 6].startswith("  feed https://wire.example/feed?…: ")
    assert lines[start + 6].endswith(": beta, epoch 1, ran out 2020-01-01 00:00:00 UTC")
    assert lines[start + 7].startswith("STATE ") and ", 0 items" in lines[start + 7]
    assert "hunter2" not in text.stdout + shown.stdout


def test_status_on_a_database_no_instance_ran_on_creates_nothing(tmp_path, pg_db):
    shown = run_cli("status", "--config", cluster_config(tmp_path, pg_db), cwd=tmp_path)
    assert shown.returncode == 2
    assert shown.stderr.startswith("news-monitor: no state in PostgreSQL database t_")
    conn = PgConnection(pg_db)
    try:
        assert pgschema.version(conn) == 0
    finally:
        conn.close()


def test_status_on_a_database_at_an_older_schema_does_not_migrate_it(tmp_path, pg_db):
    """A rolling upgrade: the daemons migrate; a newer ``status`` must not change the
    schema under instances still running the old version."""
    conn = PgConnection(pg_db)
    try:
        pgschema._apply(conn, 1)  # what the first release made
        shown = run_cli("status", "--config", cluster_config(tmp_path, pg_db), cwd=tmp_path)
        assert pgschema.version(conn) == 1
    finally:
        conn.close()
    assert shown.returncode == 2, shown.stderr
    assert "is at schema 1, this news-monitor reads schema" in shown.stderr
    assert "start `news-monitor run` of this version once to migrate it" in shown.stderr


def test_status_on_sqlite_shows_the_state_file_and_loads_no_scheduler(tmp_path):
    Store.open(tmp_path / "state").close()
    config = write_config(
        tmp_path / "monitor.yaml",
        {"state_dir": str(tmp_path / "state"), "channels": {"now": {"type": "console"}}},
    )
    result, loaded = loaded_by(tmp_path, "status", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "apscheduler" not in loaded and "psycopg" not in loaded
    lines = result.stdout.splitlines()
    assert lines[-2] == f"STORE SQLite {tmp_path / 'state' / 'monitor.db'}"
    assert lines[-1].startswith("STATE ") and lines[-1].endswith(", 0 items")
    report = json.loads(run_cli("status", "--json", "-c", str(config), cwd=tmp_path).stdout)
    assert report["store"] == {"backend": "sqlite", "path": str(tmp_path / "state" / "monitor.db")}
    assert report["cluster"] is None and report["storage"]["items"] == 0
