"""feedparser's own test corpus still passes through ``run --once`` with no crash.

tests/data/feedparser-corpus/ holds the 2,228 documents of feedparser 6.0.11's
``tests/`` (well-formed and ill-formed feeds of every format, odd encodings, every
HTML entity; see its README). One config lists each as a ``file:`` feed with
``backfill: all``, so every item goes through matching, dedup, rendering and the
console channel. Documents that are not feeds may fail with a message; nothing may
crash: the run exits 0, logs no traceback and no internal error, and ``status``
reports every feed, polled.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA, run_cli, write_config

CORPUS = DATA / "feedparser-corpus"
FOLDERS = ("encoding", "entities", "illformed", "wellformed")


def corpus_documents() -> list[Path]:
    """Every document of the corpus, in a stable order."""
    return sorted(path for folder in FOLDERS for path in (CORPUS / folder).rglob("*.xml"))


def feed_name(path: Path) -> str:
    """A feed's name in the config: its path inside the corpus."""
    return path.relative_to(CORPUS).as_posix()


@pytest.mark.integration
def test_every_corpus_document_goes_through_run_once_without_a_crash(tmp_path):
    documents = corpus_documents()
    assert len(documents) == 2228  # the corpus is all there
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "defaults": {"backfill": "all"},
            "feeds": [{"url": f"file:{path}", "name": feed_name(path)} for path in documents],
            "rules": [{"name": "everything", "query": "NOT zzqxnevermatcheszzqx"}],
            "channels": {"console": {"type": "console"}},
        },
    )

    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr[-5000:]
    assert "internal error" not in result.stderr.lower(), result.stderr[-5000:]
    assert "news-monitor:" in result.stdout  # the console channel delivered alerts

    shown = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    feeds = {feed["name"]: feed for feed in json.loads(shown.stdout)["feeds"]}
    assert sorted(feeds) == sorted(feed_name(path) for path in documents)
    unpolled = [name for name, f in feeds.items() if not (f["last_success"] or f["last_error"])]
    assert unpolled == []
    crashed = [
        (name, f["last_error"])
        for name, f in feeds.items()
        if f["last_error"] and "internal error" in f["last_error"].lower()
    ]
    assert crashed == []
    human = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert human.returncode == 0 and "Traceback" not in human.stderr, human.stderr
