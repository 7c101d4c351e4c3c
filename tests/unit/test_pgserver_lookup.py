"""tests/pgserver.py finds the server binaries, and a missing server skips, or fails in CI."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.pgserver import PgServer, PgServerError, find_bindir, require_bindir


def _fake_bindir(path: Path, tools: tuple[str, ...]) -> Path:
    """A directory with executable scripts named ``tools``."""
    path.mkdir()
    for tool in tools:
        (path / tool).write_text("#!/bin/sh\nexit 0\n")
        (path / tool).chmod(0o755)
    return path


def test_find_bindir_takes_the_first_directory_with_all_tools(tmp_path: Path):
    partial = _fake_bindir(tmp_path / "partial", ("initdb", "pg_ctl"))
    full = _fake_bindir(tmp_path / "full", ("initdb", "pg_ctl", "psql"))
    later = _fake_bindir(tmp_path / "later", ("initdb", "pg_ctl", "psql"))
    assert find_bindir([tmp_path / "missing", partial, full, later]) == full
    assert find_bindir([partial]) is None


def test_pg_bindir_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    full = _fake_bindir(tmp_path / "mine", ("initdb", "pg_ctl", "psql"))
    monkeypatch.setenv("PG_BINDIR", str(full))
    assert find_bindir() == full


def test_missing_server_skips_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not installed"):
        require_bindir([tmp_path])


def test_missing_server_fails_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL not installed.*CI=true"):
        require_bindir([tmp_path])


def test_a_failed_start_says_why_and_leaves_no_temp_dir():
    # as root, initdb runs as the postgres user: pytest's tmp_path (0700) is out of its
    # reach, so the stand-in lives in a directory anyone may enter
    holder = Path(tempfile.mkdtemp(prefix="pgbin-"))
    holder.chmod(0o755)
    broken = holder / "bin"
    broken.mkdir(mode=0o755)
    (broken / "initdb").write_text("#!/bin/sh\necho 'initdb: no space left' >&2\nexit 1\n")
    (broken / "initdb").chmod(0o755)
    server = PgServer(broken)
    before = set(Path(tempfile.gettempdir()).glob("pgtest-*"))
    try:
        with pytest.raises(PgServerError, match="initdb exited 1:\ninitdb: no space left"):
            server.start()
    finally:
        shutil.rmtree(holder)
    assert server.base is None
    assert set(Path(tempfile.gettempdir()).glob("pgtest-*")) == before


def test_an_unreachable_binary_is_a_clear_error(tmp_path: Path):
    server = PgServer(tmp_path / "nowhere")
    with pytest.raises(PgServerError, match="cannot run .*nowhere/initdb"):
        server.start()
    assert server.base is None


def test_database_names_are_plain_identifiers():
    server = PgServer(Path("/nonexistent"))
    with pytest.raises(ValueError, match="not a plain database name"):
        server.create_database('x"; DROP DATABASE test; --')
