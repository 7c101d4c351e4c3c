"""The PostgreSQL side only: the sqlite3-like adapter, the password, a lost connection,
and migrations applied once when several instances start together."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from monitor.errors import StateDatabaseError
from monitor.store import pgschema
from monitor.store.postgres import PgConnection, StoreUrlError
from monitor.store.sqlite import Store
from tests.contract.common import FEED_A, NOW, scalar
from tests.pgserver import PgServer
from tests.tcprelay import TcpRelay


def terminate(pg_server: PgServer, store: Store) -> None:
    """End the store's server process, as a restart or a network cut would."""
    pid = scalar(store, "SELECT pg_backend_pid()")
    pg_server.sql(f"SELECT pg_terminate_backend({int(pid)})")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://news:hunter2-secret@db1.internal/news_monitor",
        "postgresql://news@db1.internal/news_monitor?password=hunter2-secret",
        "host=db1.internal dbname=news_monitor password=hunter2-secret",
    ],
)
def test_a_password_inside_the_url_is_refused_without_echoing_it(url):
    with pytest.raises(StoreUrlError) as err:
        Store.open_postgres(url, lambda: "from-the-file")
    message = str(err.value)
    assert "hunter2" not in message and "\n" not in message
    assert "database news_monitor on db1.internal" in message and "password_file" in message


def test_a_url_libpq_cannot_read_is_refused_without_echoing_it():
    with pytest.raises(StoreUrlError) as err:
        Store.open_postgres("https://user:hunter2-secret@db1.internal/x y")
    assert "hunter2" not in str(err.value) and "not a PostgreSQL URL" in str(err.value)


def test_placeholders_literals_and_rows_behave_as_on_sqlite(pg_db):
    conn = PgConnection(pg_db)
    row = conn.execute(
        "SELECT '?' AS q, 'a%' AS pct, ? AS n, 'it''s ?' AS s, ? LIKE 'x%' AS liked, 1 AS q2",
        (5, "xyz"),
    ).fetchone()
    assert tuple(row) == ("?", "a%", 5, "it's ?", True, 1)
    assert (row["q"], row[1], row["n"], row["liked"]) == ("?", "a%", 5, True)
    assert row.keys() == ["q", "pct", "n", "s", "liked", "q2"]
    assert conn.execute("SELECT 1 WHERE FALSE").fetchone() is None
    assert not conn.in_transaction
    conn.execute("BEGIN IMMEDIATE")
    assert conn.in_transaction
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    conn.execute("ROLLBACK")
    assert not conn.in_transaction
    assert conn.execute("SELECT to_regclass('t')").fetchone()[0] is None
    conn.close()
    with pytest.raises(StateDatabaseError, match="is closed"):
        conn.execute("SELECT 1")


def test_a_failed_transaction_commits_nothing(pg_db):
    store = Store.open_postgres(pg_db)
    with pytest.raises(psycopg.errors.UniqueViolation), store.transaction():
        store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
        store.conn.execute("INSERT INTO feeds (url, name) VALUES (?, 'again')", (FEED_A.url,))
    assert store.feed(FEED_A.url) is None and not store.conn.in_transaction
    store.close()


def test_a_lost_connection_is_one_line_and_the_next_call_reconnects(pg_server, pg_db):
    calls = []
    store = Store.open_postgres(pg_db, lambda: calls.append(1) or None)
    assert len(calls) == 1
    terminate(pg_server, store)
    with pytest.raises(StateDatabaseError) as err:
        store.feeds()
    dbname = conninfo_to_dict(pg_db)["dbname"]
    message = str(err.value)
    assert message.startswith(f"lost the connection to PostgreSQL database {dbname} on ")
    assert "\n" not in message
    assert store.feeds() == [] and len(calls) == 2  # a new connection, a fresh password
    # lost inside a transaction: nothing of it is committed, the store goes on
    with pytest.raises(StateDatabaseError), store.transaction():
        store.record_poll_success(FEED_A.url, "A", NOW, NOW, None, None)
        terminate(pg_server, store)
        store.mark_health_alerted(FEED_A.url)
    assert store.feed(FEED_A.url) is None and len(calls) == 3
    store.close()


@pytest.fixture
def password_role(pg_server: PgServer, pg_db: str) -> Iterator[tuple[str, str]]:
    """A role that must log in with a password (scram) and owns the test database:
    ``(its URL, its name)``. Only members of ``pwtest`` need a password; every other
    connection of the session stays ``trust``."""
    hba = pg_server.data_dir / "pg_hba.conf"
    rule = "local all +pwtest scram-sha-256\n"
    if rule not in hba.read_text():
        pg_server.sql("CREATE ROLE pwtest NOLOGIN")
        hba.write_text(rule + hba.read_text())
        pg_server.sql("SELECT pg_reload_conf()")
    params = conninfo_to_dict(pg_db)
    role = f"{params['dbname']}_pw"
    pg_server.sql(f"CREATE ROLE {role} LOGIN IN ROLE pwtest PASSWORD 'first-secret-1'")
    pg_server.sql(f"ALTER DATABASE {params['dbname']} OWNER TO {role}")
    yield make_conninfo(pg_db, user=role), role
    pg_server.sql(f"DROP DATABASE {params['dbname']} WITH (FORCE)")
    pg_server.sql(f"DROP ROLE {role}")


def test_the_password_is_read_for_each_connection_and_never_shown(pg_server, password_role):
    url, role = password_role
    secret = {"value": "first-secret-1"}
    store = Store.open_postgres(url, lambda: secret["value"])
    assert scalar(store, "SELECT current_user") == role
    # rotated: the server takes the new one, the file holds it, no restart
    pg_server.sql(f"ALTER ROLE {role} PASSWORD 'second-secret-2'")
    secret["value"] = "second-secret-2"
    terminate(pg_server, store)
    with pytest.raises(StateDatabaseError, match="lost the connection"):
        store.feeds()
    assert store.feeds() == []
    secret["value"] = "wrong-secret-3"
    terminate(pg_server, store)
    with pytest.raises(StateDatabaseError):
        store.feeds()
    with pytest.raises(StateDatabaseError) as err:
        store.feeds()
    message = str(err.value)
    assert message.startswith("cannot connect to PostgreSQL database t_")
    assert "password authentication failed" in message and "\n" not in message
    assert "secret" not in message
    store.close()
    with pytest.raises(StateDatabaseError) as err:
        Store.open_postgres(url, lambda: "wrong-secret-3")
    assert "secret" not in str(err.value)


def test_two_instances_migrating_at_once_apply_each_migration_once(pg_db):
    # Both read version 0, then queue on the migration lock (held here until both
    # wait): the second must see, under the lock, that the first applied it.
    blocker = psycopg.connect(pg_db, autocommit=True)
    blocker.execute("SELECT pg_advisory_lock(%s)", (pgschema.LOCK_KEY,))
    opened: list[Store] = []
    failed: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(Store.open_postgres(pg_db))
        except BaseException as exc:  # reported below
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    waiting = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    for _ in range(600):  # up to 30 s for two threads to connect (a bound, not a measure)
        if blocker.execute(waiting).fetchone()[0] == 2 or failed:
            break
        time.sleep(0.05)
    assert blocker.execute(waiting).fetchone()[0] == 2 and not failed
    blocker.execute("SELECT pg_advisory_unlock(%s)", (pgschema.LOCK_KEY,))
    for thread in threads:
        thread.join()
    assert failed == [] and len(opened) == 2
    versions = blocker.execute("SELECT version FROM schema_migrations").fetchall()
    assert versions == [(n,) for n in range(1, len(pgschema.MIGRATIONS) + 1)]
    for store in opened:
        store.close()
    blocker.close()


def test_a_database_newer_than_the_code_is_refused(pg_db):
    Store.open_postgres(pg_db).close()
    again = Store.open_postgres(pg_db)  # reopening migrates nothing
    assert scalar(again, "SELECT COUNT(*) FROM schema_migrations") == len(pgschema.MIGRATIONS)
    newer = len(pgschema.MIGRATIONS) + 1
    again.conn.execute("INSERT INTO schema_migrations VALUES (?, 'later')", (newer,))
    again.close()
    with pytest.raises(RuntimeError, match="newer than this news-monitor"):
        Store.open_postgres(pg_db)


def test_text_compares_bytewise_whatever_the_databases_locale(pg_server):
    # An ICU en-US database sorts a, Ä, b, B; the store's columns sort as SQLite does.
    name = f"icu_{uuid.uuid4().hex[:12]}"
    pg_server.sql(
        f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
        "LOCALE 'C'"
    )
    try:
        store = Store.open_postgres(pg_server.url(name))
        for feed in ("b", "B", "a", "Ä"):
            store.record_poll_success(f"https://{feed}.example/", feed, NOW, NOW, None, None)
        assert [f.name for f in store.feeds()] == ["B", "a", "b", "Ä"]
        store.close()
    finally:
        pg_server.drop_database(name)


def test_no_statement_is_prepared_on_the_server_so_pgbouncer_transaction_pooling_works(pg_db):
    """psycopg prepares a query run 5 times by default; prepared statements do not
    survive PgBouncer's transaction pooling (docs/operations.md, *PgBouncer*)."""
    conn = PgConnection(pg_db)
    try:
        for _ in range(20):
            conn.execute("SELECT ? + 1", (1,)).fetchone()
        prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0]
    finally:
        conn.close()
    assert prepared == 0


def test_a_session_frozen_holding_a_lock_is_ended_and_the_lock_released(pg_db):
    """An instance frozen inside a transaction (SIGSTOP, a frozen VM) no longer stalls
    the others waiting for the story lock (scale-out review): the server ends a session
    idle in a transaction after ``idle_timeout``; the frozen one's next call fails in
    one line and the one after reconnects."""
    frozen = PgConnection(pg_db, idle_timeout=1)
    assert frozen.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "1s"
    frozen.execute("BEGIN")
    frozen.execute("SELECT pg_advisory_xact_lock(4242)")  # then idle: frozen
    other = PgConnection(pg_db)
    assert other.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "20s"
    took: list[bool] = []

    def wait_for_the_lock() -> None:
        other.execute("BEGIN")
        took.append(other.execute("SELECT pg_advisory_xact_lock(4242)") is not None)
        other.execute("COMMIT")

    waiter = threading.Thread(target=wait_for_the_lock)
    waiter.start()
    waiter.join(timeout=60)
    assert took == [True]
    with pytest.raises(StateDatabaseError):
        frozen.execute("SELECT 1")
    assert frozen.execute("SELECT 1").fetchone()[0] == 1  # reconnected
    frozen.close()
    other.close()


def _tcp_settings_of_sockets_to(port: int) -> list[tuple[int, ...]]:
    """(SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT) of each
    of this process's TCP sockets connected to 127.0.0.1:``port``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue  # not a socket
        with sock:
            if sock.family != socket.AF_INET or sock.type != socket.SOCK_STREAM:
                continue
            try:
                if sock.getpeername() != ("127.0.0.1", port):
                    continue
            except OSError:
                continue
            found.append(
                (
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
                )
            )
    return found


def test_over_tcp_a_silent_peer_is_noticed_within_a_minute_unless_the_url_says_otherwise(
    pg_server, pg_db
):
    """A network cut leaves a TCP connection that never answers; without keepalives the
    store's thread would wait on it for hours (Linux's defaults). Our settings reach the
    socket, and the URL's own win."""
    relay = TcpRelay.to(pg_server)
    url = relay.url(pg_db)
    try:
        ours = PgConnection(url)
        assert ours.execute("SELECT 1").fetchone()[0] == 1
        assert _tcp_settings_of_sockets_to(relay.port) == [(1, 30, 10, 3, 60_000)]
        ours.close()
        theirs = PgConnection(url + "?keepalives_idle=120&tcp_user_timeout=5000")
        assert theirs.execute("SELECT 1").fetchone()[0] == 1
        assert _tcp_settings_of_sockets_to(relay.port) == [(1, 120, 10, 3, 5_000)]
        theirs.close()
    finally:
        relay.close()
