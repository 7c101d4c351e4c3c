"""``news-monitor check`` on a ``store:`` section, in a subprocess (issue 17).

The canary password must appear in no output: not in the refusal of a URL that holds
it, not in the summary of a store whose password comes from a file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import placeholder_feeds, run_cli


@pytest.fixture(autouse=True)
def _feed_files(tmp_path: Path) -> None:
    placeholder_feeds(tmp_path, "feed.xml")


CANARY = "Canary-pw-51d0e2"
URL = "postgresql://news-monitor@db1.internal/news_monitor?sslmode=verify-full"
FEED = 'feeds: [{url: "file:feed.xml"}]\n'  # without one, check warns "no feeds configured"


def test_check_refuses_a_password_in_the_store_url_without_showing_it(tmp_path):
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "state_dir: ./state\n"
        "store:\n"
        f"  url: postgresql://news-monitor:{CANARY}@db1.internal/news_monitor\n"
        "  lease: 30s\n" + FEED
    )
    done = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == (
        f"{config}:3:8: store.url: a password in the URL is refused (value not shown): "
        "put it in password_file or ${ENV}, e.g. password: ${DB_PASSWORD}"
    )
    assert CANARY not in done.stdout + done.stderr


def test_check_shows_the_store_in_its_summary_but_not_the_password(tmp_path):
    (tmp_path / "db-password").write_text(CANARY + "\n")
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"state_dir: ./state\nstore:\n  url: {URL}\n  password_file: db-password\n  lease: 2m\n"
        + FEED
    )
    done = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{config}: ok: 1 feed, 0 rules, 0 channels, 0 examples passed, "
        f"store {URL} (pool 10, lease 120s)"
    )
    assert CANARY not in done.stdout + done.stderr
