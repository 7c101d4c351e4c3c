"""The PostgreSQL test harness is real: a server of our own, reached only by unix socket.

These tests check the fixtures of tests/conftest.py (``pg_server``, ``pg_url``,
``pg_db``) and the database primitives issue #17 builds on: claims with
``FOR UPDATE SKIP LOCKED`` that stay disjoint under concurrency, and ``now()`` as the
one clock that leases are measured in.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg  # in the test extra, like every test dependency
import pytest

from tests.pgserver import PgServer, require_bindir

pytestmark = pytest.mark.integration


def test_server_listens_on_its_own_unix_socket_only(pg_server: PgServer, pg_url: str):
    with psycopg.connect(pg_url) as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("listen_addresses", "unix_socket_directories", "fsync")
        }
        assert conn.execute("SELECT current_database()").fetchone()[0] == "test"
        # the backend serving us is not root (PostgreSQL refuses it; see pgserver.py);
        # read while the connection is open: the backend exits with it
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    assert settings == {
        "listen_addresses": "",
        "unix_socket_directories": str(pg_server.socket_dir),
        "fsync": "off",
    }
    uid_line = next(line for line in status if line[:4] == "Uid:")
    assert uid_line.split()[1] != "0"
    assert (pg_server.socket_dir / ".s.PGSQL.5432").is_socket()


def test_pg_db_is_a_fresh_database_for_each_test(pg_db: str):
    with psycopg.connect(pg_db) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()[0]
        conn.execute("CREATE TABLE feeds (url text PRIMARY KEY, next_poll timestamptz)")
        conn.execute("INSERT INTO feeds VALUES ('https://example.org/rss', now())")
        conn.commit()
        assert conn.execute("SELECT url FROM feeds").fetchall() == [("https://example.org/rss",)]
    assert name.startswith("t_")
    assert tables == 0


def test_a_stopped_server_leaves_nothing_behind():
    server = PgServer(require_bindir())
    with server:
        base = server.socket_dir
        url = server.create_database("gone")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def _jobs(url: str, n: int) -> None:
    """A table ``jobs`` of ``n`` unclaimed rows, ids 1..n."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE jobs (id int PRIMARY KEY, owner text)")
        conn.execute("INSERT INTO jobs SELECT g, NULL FROM generate_series(1, %s) g", (n,))


CLAIM = """
    WITH due AS (SELECT id FROM jobs WHERE owner IS NULL
                 ORDER BY id LIMIT %(n)s FOR UPDATE SKIP LOCKED)
    UPDATE jobs j SET owner = %(me)s FROM due WHERE j.id = due.id RETURNING j.id
"""


def test_skip_locked_gives_two_open_transactions_disjoint_rows(pg_db: str):
    _jobs(pg_db, 10)
    # a lock wait ends in an error, not a hung test, should a claim ever wait
    waits = "-c lock_timeout=5s"
    with psycopg.connect(pg_db, options=waits) as a, psycopg.connect(pg_db, options=waits) as b:
        # both transactions stay open: a's row locks are held while b claims
        got_a = [r[0] for r in a.execute(CLAIM, {"n": 3, "me": "a"})]
        got_b = [r[0] for r in b.execute(CLAIM, {"n": 3, "me": "b"})]
        # without SKIP LOCKED, b would wait for a's rows: they really are locked
        b.execute("SET LOCAL lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            b.execute("SELECT id FROM jobs WHERE id = ANY(%s) FOR UPDATE", (got_a,))
        b.rollback()
        a.commit()
        # once a commits, the rows b gave up are there for the next claim
        got_b_again = [r[0] for r in b.execute(CLAIM, {"n": 10, "me": "b"})]
        b.commit()
    assert got_a == [1, 2, 3]
    assert got_b == [4, 5, 6]
    assert got_b_again == [4, 5, 6, 7, 8, 9, 10]


def test_concurrent_claimers_take_every_row_exactly_once(pg_db: str):
    rows, workers = 400, 6
    _jobs(pg_db, rows)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def claimer(me: str) -> None:
        mine: list[int] = []
        try:
            with psycopg.connect(pg_db, autocommit=True) as conn:
                start.wait(timeout=30)
                while True:
                    got = [r[0] for r in conn.execute(CLAIM, {"n": 7, "me": me})]
                    if not got:
                        break
                    mine += got
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        claimed[me] = mine

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    everything = [job for mine in claimed.values() for job in mine]
    assert sorted(everything) == list(range(1, rows + 1))  # none lost, none twice
    with psycopg.connect(pg_db) as conn:
        owners = dict(conn.execute("SELECT owner, count(*) FROM jobs GROUP BY owner").fetchall())
    assert owners == {me: len(mine) for me, mine in claimed.items() if mine}
    assert sum(1 for mine in claimed.values() if mine) >= 2  # really concurrent


def test_now_is_the_database_clock_fixed_for_a_transaction(pg_db: str):
    with psycopg.connect(pg_db) as conn:
        before = time.time()
        now1, wall1 = conn.execute("SELECT now(), clock_timestamp()").fetchone()
        time.sleep(0.05)
        now2, wall2, lease = conn.execute(
            "SELECT now(), clock_timestamp(), now() + make_interval(secs => 30) - now()"
        ).fetchone()
        after = time.time()
        conn.commit()
        now3 = conn.execute("SELECT now()").fetchone()[0]
    assert now1.tzinfo is not None
    assert now1 == now2  # the transaction's start, whatever the statement
    assert wall2 - wall1 >= timedelta(seconds=0.05)  # clock_timestamp() moves on
    assert now3 > now1  # a new transaction, a new now()
    # same machine here, so the database clock agrees with ours to within a second
    assert before - 1 <= now1.timestamp() <= after + 1
    assert lease == timedelta(seconds=30)
