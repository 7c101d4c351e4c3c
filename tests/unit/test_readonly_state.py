"""Reading the SQLite state without writing it (``status``, ``preview``, ``history``):
opened immutable when no daemon has it open, and read again with SQLite's locks when a
daemon started writing during the read (review of the read-only commands: an immutable
read under a checkpoint saw "database disk image is malformed")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.errors import MonitorError, StateDatabaseError
from monitor.store.readonly import read_state
from monitor.store.schema import MIGRATIONS
from monitor.store.sqlite import DB_NAME, NoStateError


def make_state(folder: Path, version: int = 1) -> Path:
    """A WAL database with ``t(x)`` = [1] at schema ``version``, closed (no -wal left)."""
    path = folder / DB_NAME
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    assert not path.with_name(DB_NAME + "-wal").exists()
    return path


def a_daemon_writes(path: Path, rows: int) -> None:
    """What ``run --once`` does to the file: open, write (pages added), close (the
    checkpoint copies the pages into the file and removes the -wal)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(rows)])
    conn.execute("UPDATE t SET x = 2 WHERE rowid = 1")
    conn.commit()
    conn.close()


def test_a_read_during_which_a_daemon_wrote_is_read_again_with_locks(tmp_path):
    path = make_state(tmp_path)
    seen: list[int] = []

    def read(conn: sqlite3.Connection) -> int:
        seen.append(conn.execute("SELECT x FROM t WHERE rowid = 1").fetchone()[0])
        if len(seen) == 1:
            a_daemon_writes(path, rows=5_000)
        return seen[-1]

    assert read_state(tmp_path, read, oldest=1) == 2
    assert seen == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]  # nothing left behind


def test_an_immutable_read_that_fails_as_the_file_changes_is_done_again(tmp_path):
    path = make_state(tmp_path)
    tries: list[int] = []

    def read(conn: sqlite3.Connection) -> int:
        tries.append(1)
        if len(tries) == 1:  # as a read under a checkpoint fails
            a_daemon_writes(path, rows=5_000)
            raise sqlite3.DatabaseError("database disk image is malformed")
        return conn.execute("SELECT x FROM t WHERE rowid = 1").fetchone()[0]

    assert read_state(tmp_path, read, oldest=1) == 2 and len(tries) == 2


def test_a_read_that_fails_on_a_file_that_did_not_change_is_one_line(tmp_path):
    """Damage the read finds (the file did not change under it) is not read again."""
    path = make_state(tmp_path)
    tries: list[int] = []

    def read(conn: sqlite3.Connection) -> None:
        tries.append(1)
        conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(
        StateDatabaseError, match=f"cannot read state database {path} \\(no such table"
    ):
        read_state(tmp_path, read, oldest=1)
    assert len(tries) == 1


def test_a_quiet_state_is_read_once_and_left_as_it_was(tmp_path):
    path = make_state(tmp_path)
    before = path.stat().st_mtime_ns
    calls: list[int] = []
    assert read_state(tmp_path, lambda c: calls.append(1) or len(calls), oldest=1) == 1
    assert path.stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]


def test_what_is_not_a_readable_state_is_one_line(tmp_path):
    with pytest.raises(NoStateError, match="no state in"):
        read_state(tmp_path, lambda c: None)
    (tmp_path / DB_NAME).mkdir()
    with pytest.raises(StateDatabaseError, match="is not a file: move it away"):
        read_state(tmp_path, lambda c: None)
    (tmp_path / DB_NAME).rmdir()
    make_state(tmp_path, version=len(MIGRATIONS) + 1)
    newer = f"is at schema {len(MIGRATIONS) + 1}, newer than this news-monitor"
    with pytest.raises(MonitorError, match=newer + r" \(\d+\): upgrade news-monitor"):
        read_state(tmp_path, lambda c: None)


def test_while_a_daemon_has_it_open_the_read_takes_locks_and_sees_its_commits(tmp_path):
    """Its commits are in its -wal, not yet in the file: an immutable read would miss
    them (and SQLite's locks keep its checkpoint off the pages being read)."""
    path = make_state(tmp_path)
    daemon = sqlite3.connect(path)
    daemon.execute("PRAGMA journal_mode=WAL")
    daemon.execute("UPDATE t SET x = 3")
    daemon.commit()
    try:
        assert (tmp_path / f"{DB_NAME}-wal").exists()
        read = read_state(tmp_path, lambda c: c.execute("SELECT x FROM t").fetchone()[0], 1)
        assert read == 3
    finally:
        daemon.close()
