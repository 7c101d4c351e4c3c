"""``run --once`` with ``store:`` is refused, in one line, before anything is opened."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli, write_config


def test_run_once_with_a_store_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "store": {"url": "postgresql://news-monitor@db.invalid/news_monitor"},
            "feeds": [{"url": "https://example.org/feed.xml"}],
            "rules": [{"name": "r", "query": "anything"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "run --once is not available with store:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()
