"""What the CLI prints at its edges, in subprocesses: a reader that closes the pipe
early, ``import-opml -o`` into a folder not made yet or over a file, ``status`` with
no config file, ``status --json``'s times, and a few messages (counts, paths, retry).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA, REPO, SEED, run_cli, write_config

OPML = DATA / "feeds" / "subscriptions.opml"
UTC_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
LOOKS_LIKE_A_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}")


def cli_env() -> dict[str, str]:
    """The environment :func:`tests.conftest.run_cli` gives the CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    env["PYTHONPATH"] = str(REPO)
    return env


def first_line_then_close(*args: str, cwd: Path) -> tuple[str, int, str]:
    """Run the CLI with stdout a pipe, read one line and close the pipe, as ``| head -1``
    does; its first line, exit code and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return line, code, err


def big_feed(path: Path, items: int) -> Path:
    """An RSS file of ``items`` items (enough text to fill a pipe many times over)."""
    body = "".join(
        f"<item><title>Item {k} about the weather in a town far away</title>"
        f"<guid>g{k}</guid><description>Nothing of note, item {k}.</description></item>"
        for k in range(items)
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{body}</channel></rss>'
    )
    return path


def test_test_rule_into_a_closed_pipe_stops_quietly(tmp_path):
    feed = big_feed(tmp_path / "big.xml", 3000)
    line, code, err = first_line_then_close(
        "test-rule", "summit", str(feed), "--all", "--explain", cwd=tmp_path
    )
    assert line.startswith("  no match: Item 0")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 141  # as a shell reports a program SIGPIPE stopped (monitor/cli)


def test_status_into_a_closed_pipe_stops_quietly(tmp_path):
    feed = tmp_path / "seed.xml"
    shutil.copy(SEED / "feed-full.xml", feed)
    base = {"state_dir": str(tmp_path / "state"), "channels": {"out": {"type": "console"}}}
    small = write_config(tmp_path / "small.yaml", {**base, "feeds": [{"url": f"file:{feed}"}]})
    assert run_cli("run", "--once", "--config", str(small), cwd=tmp_path).returncode == 0
    many = [{"url": f"file:{tmp_path}/feed-{k:04}.xml"} for k in range(1500)]
    config = write_config(tmp_path / "many.yaml", {**base, "feeds": many})
    line, code, err = first_line_then_close("status", "--config", str(config), cwd=tmp_path)
    assert line == "FEEDS (times in UTC)\n"
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 141


def test_import_opml_makes_the_folder_and_says_when_it_replaces_a_file(tmp_path):
    out = tmp_path / "feeds.d" / "reader.yaml"  # feeds.d/ is not there yet
    first = run_cli("import-opml", str(OPML), "-o", "feeds.d/reader.yaml", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote 3 feeds to feeds.d/reader.yaml; add it")
    assert "replacing" not in first.stdout
    feeds = __import__("yaml").safe_load(out.read_text())["feeds"]
    assert len(feeds) == 3
    out.write_text("# edited by hand\n")
    out.chmod(0o640)
    second = run_cli("import-opml", str(OPML), "-o", str(out), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert ", replacing the file that was there;" in second.stdout
    assert out.read_text().startswith("# imported from subscriptions.opml: 3 feeds\n")
    assert out.stat().st_mode & 0o777 == 0o640  # the replaced file's mode is kept
    assert sorted(p.name for p in out.parent.iterdir()) == ["reader.yaml"]  # no temp left


def test_import_opml_that_cannot_write_says_so_in_one_line(tmp_path):
    (tmp_path / "feeds.d").write_text("a file where the folder should be\n")
    result = run_cli("import-opml", str(OPML), "-o", "feeds.d/reader.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "news-monitor: feeds.d/reader.yaml: cannot write: feeds.d is not a folder\n"
    )
    (tmp_path / "out").mkdir()
    into_a_folder = run_cli("import-opml", str(OPML), "-o", "out", cwd=tmp_path)
    assert into_a_folder.returncode == 2
    assert into_a_folder.stderr == "news-monitor: out: cannot write: Is a directory\n"
    assert list((tmp_path / "out").iterdir()) == []


def strings(value: Any) -> list[str]:
    """Every string in a JSON document, however deep, but the ``text`` for people (a
    next digest's ``2026-12-02 07:00 KST (Asia/Seoul)``)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "text" for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_status_json_writes_every_time_as_utc_with_z_and_text_counts_agree(tmp_path):
    feed = tmp_path / "seed.xml"
    shutil.copy(SEED / "feed-full.xml", feed)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [
                {"name": "seed", "url": f"file:{feed}", "backfill": "all"},
                {"name": "gone", "url": f"file:{tmp_path}/missing.xml"},
            ],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {
                "now": {"type": "console"},
                "morning": {
                    "type": "console",
                    "schedule": "cron: 0 7 * * *",
                    "timezone": "Asia/Seoul",
                },
            },
        },
    )
    once = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    shown = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    times = [s for s in strings(report) if LOOKS_LIKE_A_TIME.match(s)]
    feeds = {f["name"]: f for f in report["feeds"]}
    channels = {c["name"]: c for c in report["channels"]}
    expected = [
        feeds["seed"]["last_success"],
        feeds["seed"]["next_poll"],
        feeds["gone"]["last_error_at"],
        channels["now"]["last_sent"],
        channels["morning"]["next_digest"]["next"],
    ]
    assert all(isinstance(t, str) for t in expected) and set(expected) <= set(times)
    assert [t for t in times if not UTC_Z.fullmatch(t)] == []
    text = run_cli("status", "--config", str(config), cwd=tmp_path).stdout
    assert "  pompeo: 1 match in 24 h, 1 in 30 d" in text
    check = run_cli("check", "--config", str(config), cwd=tmp_path)
    # the feed "gone" reads a file that is not there: a warning, not an error
    assert check.stdout.rstrip().endswith(
        ": ok: 2 feeds, 1 rule, 2 channels, 0 examples passed, 1 warning(s)"
    )
    assert f"cannot read {tmp_path}/missing.xml: No such file or directory" in check.stderr
    nothing = run_cli("retry", "now", "--config", str(config), cwd=tmp_path)
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == "now: nothing to retry: no dead letters\n"


@pytest.mark.skipif(
    Path("/etc/news-monitor/monitor.yaml").exists(), reason="this machine has a system config"
)
def test_status_without_a_config_file_says_where_it_looked(tmp_path):
    shown = run_cli("status", cwd=tmp_path)
    first = shown.stderr.splitlines()[0]
    assert first.startswith("CONFIG ERROR: config/monitor.yaml:1:1: config file not found (")
    assert "fix and reload" not in shown.stderr
    for words in (
        "no --config",
        "$NEWS_MONITOR_CONFIG not set",
        "/etc/news-monitor/monitor.yaml",
        f"./config/monitor.yaml (in {tmp_path})",
        "--config FILE",
    ):
        assert words in first, first
    given = run_cli("preview", "--config", "nope.yaml", cwd=tmp_path)
    assert given.returncode == 2
    assert given.stderr == "nope.yaml:1:1: config file not found (given by --config)\n"


def test_test_rule_messages_name_what_is_required_and_the_path_as_typed(tmp_path):
    bare = run_cli("test-rule", cwd=tmp_path)
    assert bare.returncode == 2
    assert bare.stderr.rstrip().endswith("the following arguments are required: query")
    missing = run_cli("test-rule", "summit", "Local Desk", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == "news-monitor: Local Desk: cannot read: No such file or directory\n"
    # a path is read as typed: %41 is three characters of its name, not an escaped "A"
    shutil.copy(SEED / "feed-full.xml", tmp_path / "a%41 b.xml")
    found = run_cli("test-rule", "Pompeo AND Pyongyang", "a%41 b.xml", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.endswith("1 of 5 items match\n")
