"""``news-monitor store copy`` into a real PostgreSQL, the CLI in a subprocess (issue 17).

The state is made by the CLI itself (``run --once`` against the feed server: items,
stories, matches, a sent and a pending message, a dead letter), copied, then read back
through both stores table by row; ``status --json`` on the copy says what it said on
SQLite. The canary password must appear in no output.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from monitor.store import pgschema
from monitor.store.copy import TABLES
from monitor.store.lock import StateLock
from monitor.store.postgres import PgConnection
from monitor.store.sqlite import Store
from tests.conftest import run_cli, serve_seed, write_config

CANARY = "Canary-pw-7c41aa"


@pytest.fixture
def scram_db(pg_server, pg_db) -> Iterator[str]:
    """``pg_db`` owned by a role that must log in with the password :data:`CANARY`
    (scram); its URL (no password inside). Other roles stay ``trust``."""
    hba = pg_server.data_dir / "pg_hba.conf"
    rule = "local all +pwtest scram-sha-256\n"
    if rule not in hba.read_text():
        pg_server.sql("CREATE ROLE pwtest NOLOGIN")
        hba.write_text(rule + hba.read_text())
        pg_server.sql("SELECT pg_reload_conf()")
    name = conninfo_to_dict(pg_db)["dbname"]
    role = f"{name}_copy"
    pg_server.sql(f"CREATE ROLE {role} LOGIN IN ROLE pwtest PASSWORD '{CANARY}'")
    pg_server.sql(f"ALTER DATABASE {name} OWNER TO {role}")
    yield f"{pg_db}".replace("user=postgres", f"user={role}")
    pg_server.sql(f"DROP DATABASE {name} WITH (FORCE)")
    pg_server.sql(f"DROP ROLE {role}")


def hook(server, path: str) -> dict:
    return {"type": "webhook", "url": server.url(path), "timeout": "2s", "group_wait": "0s"}


def make_state(tmp_path: Path, http_server) -> dict:
    """Two feeds carrying the same stories, two rules, three channels (sent, pending
    after a 503, dead after a 404), polled once by the CLI; the config as a dict."""
    urls = serve_seed(http_server, "feed-full.xml", "feed-teaser.xml")
    http_server.respond_post("/slow", (503, {}, b"down for now"))
    http_server.respond_post("/dead", (404, {}, b"no such hook"))
    config = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [
            {"name": "full", "url": urls["feed-full.xml"], "backfill": "all"},
            {"name": "teaser", "url": urls["feed-teaser.xml"], "backfill": "all"},
        ],
        "rules": [
            {"name": "pompeo", "query": "Pompeo"},
            {"name": "typhoon", "query": "Typhoon"},
        ],
        "channels": {
            "console": {"type": "console"},
            "slow": hook(http_server, "/slow"),
            "dead": hook(http_server, "/dead"),
        },
    }
    path = write_config(tmp_path / "monitor.yaml", config)
    done = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert done.returncode == 3, done.stderr  # a channel did not deliver
    return config


def columns(sqlite_store: Store) -> dict[str, list[str]]:
    """Each table's columns as SQLite has them, ``messages`` with its rowid."""
    return {
        table: [r[1] for r in sqlite_store.conn.execute(f"PRAGMA table_info({table})")]
        + (["rowid"] if table == "messages" else [])
        for table, _ in TABLES
    }


def rows(store: Store, tables: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of every table, as tuples in ``tables``' column order, sorted."""
    return {
        table: sorted(
            (tuple(r) for r in store.conn.execute(f"SELECT {', '.join(names)} FROM {table}")),
            key=repr,
        )
        for table, names in tables.items()
    }


def scalar(store: Store, sql: str) -> object:
    return store.conn.execute(sql).fetchone()[0]


def copy(tmp_path: Path, config: Path, *args: str):
    return run_cli("store", "copy", "--config", str(config), *args, cwd=tmp_path)


def test_copy_keeps_every_row_and_id_and_status_reads_the_same(tmp_path, http_server, scram_db):
    config = make_state(tmp_path, http_server)
    state = tmp_path / "state"
    sqlite = Store.open(state, create=False)
    try:
        # retention pruned the newest items once: AUTOINCREMENT remembers their ids
        sqlite.conn.execute("UPDATE sqlite_sequence SET seq = seq + 50 WHERE name = 'items'")
        mark = scalar(sqlite, "SELECT seq FROM sqlite_sequence WHERE name = 'items'")
        tables = columns(sqlite)
        before = rows(sqlite, tables)
    finally:
        sqlite.close()
    status, story = tables["messages"].index("status"), tables["items"].index("story_id")
    assert {m[status] for m in before["messages"]} == {"sent", "pending", "failed"}
    # SQLite keeps content hashes as 8 bytes; PostgreSQL's column is text: their hex
    digest = tables["items"].index("content_hash")
    assert all(isinstance(i[digest], bytes) and len(i[digest]) == 8 for i in before["items"])
    hexed = [(*i[:digest], i[digest].hex(), *i[digest + 1 :]) for i in before["items"]]
    # and a feed's entry digests as bytes; PostgreSQL's column is text: their base64
    entries = tables["feeds"].index("entry_digests")
    assert all(isinstance(f[entries], bytes) for f in before["feeds"])
    encoded = [
        (*f[:entries], base64.b64encode(f[entries]).decode(), *f[entries + 1 :])
        for f in before["feeds"]
    ]
    assert len(before["items"]) == 10 and before["matches"] and before["outbox"]
    assert any(i[0] != i[story] for i in before["items"])  # a copy joined another's story
    password = tmp_path / "db-password"
    password.write_text(CANARY + "\n")
    path = tmp_path / "monitor.yaml"

    done = copy(tmp_path, path, "--to", scram_db, "--password-file", str(password))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    name = conninfo_to_dict(scram_db)["dbname"]
    assert out.startswith(f"copying {state / 'monitor.db'} into database {name} on ")
    assert f"  items: {len(before['items'])} rows\n" in out
    assert f"  messages: {len(before['messages'])} rows\n" in out
    total = sum(len(r) for r in before.values())
    assert f"copied {total} rows in {len(TABLES)} tables into database {name} on " in out
    assert CANARY not in out + done.stderr

    target = Store.open_postgres(scram_db, lambda: CANARY)
    try:
        assert rows(target, tables) == {**before, "items": hexed, "feeds": encoded}
        assert scalar(target, "SELECT nextval(pg_get_serial_sequence('items', 'id'))") == mark + 1
        top = max(r[0] for r in before["outbox"])
        assert scalar(target, "SELECT nextval(pg_get_serial_sequence('outbox', 'id'))") == top + 1
        top = max(r[-1] for r in before["messages"])
        rowid = "SELECT nextval(pg_get_serial_sequence('messages', 'rowid'))"
        assert scalar(target, rowid) == top + 1
    finally:
        target.close()

    on_sqlite = json.loads(run_cli("status", "--json", "-c", str(path), cwd=tmp_path).stdout)
    pg_config = dict(config, store={"url": scram_db, "password_file": str(password)})
    pg_path = write_config(tmp_path / "pg.yaml", pg_config)
    shown = run_cli("status", "--json", "-c", str(pg_path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    on_pg = json.loads(shown.stdout)
    for key in ("feeds", "rules", "channels", "dead_letters", "config"):
        assert on_pg[key] == on_sqlite[key], key
    assert on_pg["storage"]["items"] == on_sqlite["storage"]["items"] == 10
    assert on_pg["store"]["backend"] == "postgresql" and on_pg["cluster"]["instances"] == []
    text = run_cli("status", "-c", str(pg_path), cwd=tmp_path)
    assert "STORE PostgreSQL postgresql:///" in text.stdout
    assert "STATE " in text.stdout and " in tables and indexes, 10 items" in text.stdout
    assert CANARY not in shown.stdout + shown.stderr + text.stdout + text.stderr

    again = copy(tmp_path, path, "--to", scram_db, "--password-file", str(password))
    assert again.returncode == 2
    assert again.stdout == ""  # refused before it says it copies (operator trial)
    assert f"database {name} on " in again.stderr
    assert "already holds a news-monitor state (feeds: 2, " in again.stderr
    assert ", items: 10, " in again.stderr
    assert "nothing was written" in again.stderr and CANARY not in again.stdout + again.stderr


def test_a_url_with_a_password_is_refused_without_echoing_it(tmp_path, pg_db):
    path = write_config(tmp_path / "monitor.yaml", {"state_dir": str(tmp_path / "state")})
    Store.open(tmp_path / "state").close()
    params = conninfo_to_dict(pg_db)
    url = f"postgresql://postgres:{CANARY}@/{params['dbname']}?host={params['host']}"
    done = copy(tmp_path, path, "--to", url)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "news-monitor: --to: a password in the URL is refused (value not shown): give it with"
        " --password-file FILE, the config's store: password, or PGPASSWORD or ~/.pgpass"
    )
    assert CANARY not in done.stdout + done.stderr
    assert_untouched(pg_db)


def test_copy_is_refused_while_a_daemon_holds_the_state(tmp_path, pg_db):
    path = write_config(tmp_path / "monitor.yaml", {"state_dir": str(tmp_path / "state")})
    Store.open(tmp_path / "state").close()
    lock = StateLock(tmp_path / "state")  # what the daemon takes for its lifetime
    lock.acquire()
    try:
        done = copy(tmp_path, path, "--to", pg_db)
    finally:
        lock.release()
    assert done.returncode == 2
    assert "is already running on" in done.stderr and "stop it before copying" in done.stderr
    assert done.stdout == ""  # no "copying …" before the refusal (operator trial)
    assert_untouched(pg_db)


def test_a_refused_copy_says_why_and_never_that_it_was_copying(tmp_path, pg_db):
    path = write_config(tmp_path / "monitor.yaml", {"state_dir": str(tmp_path / "state")})
    no_state = copy(tmp_path, path, "--to", pg_db)  # nothing in state_dir yet
    assert no_state.returncode == 2 and no_state.stdout == "", no_state.stdout
    assert_untouched(pg_db)
    Store.open(tmp_path / "state").close()
    conn = PgConnection(pg_db)
    try:
        conn.execute("CREATE TABLE invoices (id INTEGER)")  # another program's database
    finally:
        conn.close()
    foreign = copy(tmp_path, path, "--to", pg_db)
    assert foreign.returncode == 2
    assert "holds other tables (invoices): copy into an empty database" in foreign.stderr
    assert foreign.stdout == ""


def test_a_failed_copy_writes_nothing_and_can_be_tried_again(tmp_path, pg_db):
    path = write_config(tmp_path / "monitor.yaml", {"state_dir": str(tmp_path / "state")})
    store = Store.open(tmp_path / "state")
    store.conn.execute("INSERT INTO feeds (url, name) VALUES ('https://a.example/rss', 'a')")
    # PostgreSQL text holds no NUL: the last table copied fails
    store.conn.execute("INSERT INTO instances VALUES (?, 'a', 'b', '{}')", ("x\x00y",))
    store.close()
    failed = copy(tmp_path, path, "--to", pg_db)
    assert failed.returncode == 2
    assert failed.stdout.startswith("copying ")  # it had begun: every check had passed
    assert "  feeds: 1 row\n" in failed.stdout
    assert failed.stderr.startswith("news-monitor: copy into database ")
    assert failed.stderr.rstrip().endswith("; nothing was written")
    conn = PgConnection(pg_db)
    try:
        assert pgschema.version(conn) == len(pgschema.MIGRATIONS)  # migrated, and empty
        assert conn.execute("SELECT COUNT(*) FROM feeds").fetchone()[0] == 0
    finally:
        conn.close()
    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:
        db.execute("DELETE FROM instances")
    done = copy(tmp_path, path, "--to", pg_db)
    assert done.returncode == 0, done.stderr
    assert "  feeds: 1 row\n" in done.stdout and "  instances: 0 rows\n" in done.stdout


def assert_untouched(url: str) -> None:
    """The database at ``url`` was not even migrated."""
    conn = PgConnection(url)
    try:
        assert pgschema.version(conn) == 0
    finally:
        conn.close()
