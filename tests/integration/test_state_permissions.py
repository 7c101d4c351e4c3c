"""The state as someone without the daemon's rights sees it (newcomer review): an admin
who may not enter the state directory gets one line from every command, not a
traceback; one who may read the state but not write it can use ``status``,
``preview`` and ``history``, which only read, and ``retry``, which writes, says so.

Root reads and writes anything, so as root the commands run as ``nobody``
(``setpriv``); as any other user, the modes alone deny us. The CLI runs in a
subprocess on a state made by ``run --once`` over a file feed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, write_config

FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
    "<item><title>Pompeo lands</title><link>http://127.0.0.1:9/n/1</link>"
    "<guid>g-1</guid><description>Pompeo lands in Pyongyang.</description></item>"
    "</channel></rss>"
)
OTHER_USER = ["--reuid=65534", "--regid=65534", "--clear-groups"]  # nobody


def as_other_user() -> list[str]:
    """The prefix that runs a command without our rights ([] when we are not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux) to drop to nobody")
    probe = subprocess.run(
        [setpriv, *OTHER_USER, sys.executable, "-c", "import monitor"],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:  # the checkout or the interpreter is root's alone
        pytest.skip(f"nobody cannot run {sys.executable} on {REPO} here")
    return [setpriv, *OTHER_USER]


def run_as_other(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m monitor ARGS --config CONFIG`` without our rights."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [*as_other_user(), sys.executable, "-m", "monitor", *args, "--config", str(config)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder anyone may read (pytest's tmp_path is root's alone): a file feed, a
    config, and the state of one ``run --once``; the config's path."""
    root = Path(tempfile.mkdtemp(prefix="nm-perm-"))
    root.chmod(0o755)
    feed = root / "feed.xml"
    feed.write_text(FEED)
    config = write_config(
        root / "monitor.yaml",
        {
            "state_dir": str(root / "state"),
            "feeds": [{"url": f"file:{feed}", "name": "Wire"}],
            "rules": [{"name": "pompeo", "query": "Pompeo"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    once = run_cli("run", "--once", "--config", str(config), cwd=root)
    assert once.returncode == 0, once.stderr
    for path in (feed, config):
        path.chmod(0o644)
    yield config
    (root / "state").chmod(0o755)  # first: as a user, we cannot list it at mode 0
    for path in (root / "state").iterdir():
        path.chmod(0o644)
    shutil.rmtree(root)


def test_a_state_dir_we_may_not_enter_is_one_line_from_every_command(world):
    state = world.parent / "state"
    state.chmod(0)
    for args in (("status",), ("status", "--json"), ("history",), ("preview",), ("retry", "out")):
        shown = run_as_other(world, *args)
        assert shown.returncode == 2, (args, shown.stdout, shown.stderr)
        assert shown.stderr == (
            f"news-monitor: cannot use state_dir {state}: Permission denied"
            f" ({state / 'monitor.db'})\n"
        ), args
        assert shown.stdout == "", args


def test_a_state_we_may_read_but_not_write_is_shown_and_left_as_it_was(world):
    state = world.parent / "state"
    db = state / "monitor.db"
    db.chmod(0o444)
    state.chmod(0o555)
    before = {p.name: p.stat().st_mtime_ns for p in state.iterdir()}
    status = run_as_other(world, "status")
    assert status.returncode == 0, status.stderr
    assert "Wire" in status.stdout and f"STORE SQLite {db}" in status.stdout
    preview = run_as_other(world, "preview")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.startswith("=== channel out: 0 stories pending ===")
    history = run_as_other(world, "history")
    assert history.returncode == 0 and "Pompeo lands" in history.stdout, history.stderr
    retry = run_as_other(world, "retry", "out")
    assert retry.returncode == 2 and "Traceback" not in retry.stderr
    assert retry.stderr.startswith(f"news-monitor: cannot write state database {db} (")
    assert "run this as the daemon's user" in retry.stderr
    assert {p.name: p.stat().st_mtime_ns for p in state.iterdir()} == before
    assert stat.S_IMODE(db.stat().st_mode) == 0o444
