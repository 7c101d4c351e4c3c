"""A command loads what it uses, when it uses it (issue 18, start-up).

The CLI runs in a subprocess through a tiny wrapper that runs ``python -m monitor``
and writes, at exit, the modules the process had loaded. ``run --once`` over a feed
that did not change (a 304) parses, matches, fingerprints and renders nothing, so it
must not load feedparser, numpy, Jinja2, APScheduler or prometheus_client; a run that
does find a new item loads what matching and rendering need (which shows the wrapper
sees loads at all). ``check`` compiles rules and runs their examples without the
presearch (numpy) or the scheduler. Parse workers are other processes: what they load
is not counted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, serve_seed, write_config
from tests.servers import HttpServer

WRAPPER = """\
import atexit, json, os, runpy, sys

def report():
    with open(os.environ["LOADED_MODULES_FILE"], "w") as out:
        json.dump(sorted(sys.modules), out)

atexit.register(report)
sys.argv[0] = "news-monitor"
runpy.run_module("monitor", run_name="__main__", alter_sys=True)
"""
# Loaded only for the work that needs them (docs/architecture.md, "Start-up").
PARSING = ("feedparser", "trafilatura", "lxml", "charset_normalizer")
MATCHING = ("numpy",)
RENDERING = ("jinja2",)
DAEMON_ONLY = ("apscheduler", "prometheus_client")


def loaded_by(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``news-monitor ARGS`` in a subprocess; its result and the top-level packages
    (and ``monitor.*`` modules) it had loaded when it exited."""
    wrapper = tmp_path / "loaded_modules.py"
    wrapper.write_text(WRAPPER)
    report = tmp_path / "loaded.json"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
    env.update(PYTHONPATH=str(REPO), LOADED_MODULES_FILE=str(report))
    result = subprocess.run(
        [sys.executable, str(wrapper), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = json.loads(report.read_text())
    return result, {n if n.startswith("monitor.") else n.split(".")[0] for n in names}


def one_feed_config(tmp_path: Path, server: HttpServer, backfill: int | str) -> Path:
    """One seed feed, one simple rule, one console channel."""
    urls = serve_seed(server, "feed-full.xml")
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"name": "seed", "url": urls["feed-full.xml"], "backfill": backfill}],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang", "notify": ["out"]}],
            "channels": {"out": {"type": "console"}},
        },
    )


def test_run_once_on_an_unchanged_feed_loads_no_parser_matcher_templates_or_scheduler(
    tmp_path, http_server
):
    config = one_feed_config(tmp_path, http_server, 0)
    first, _ = loaded_by(tmp_path, "run", "--once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    result, loaded = loaded_by(tmp_path, "run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    requests = http_server.requests_to("/feeds/feed-full.xml")
    assert len(requests) == 2 and requests[1].headers.get("if-none-match")  # a 304
    unwanted = PARSING + MATCHING + RENDERING + DAEMON_ONLY
    assert sorted(loaded & set(unwanted)) == []
    assert "monitor.service.scheduling" not in loaded and "monitor.ingest.parse" not in loaded


def test_run_once_that_finds_an_item_loads_what_matching_and_rendering_need(tmp_path, http_server):
    config = one_feed_config(tmp_path, http_server, "all")
    result, loaded = loaded_by(tmp_path, "run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Pompeo" in result.stdout  # matched and rendered on the console
    assert set(MATCHING + RENDERING) <= loaded
    assert sorted(loaded & set(PARSING + DAEMON_ONLY)) == []  # parsed in a worker
    # The worker's ParsedFeed is unpickled here (monitor.ingest.parse), but feedparser's
    # setup and the date parsers (~15 ms of patterns) belong to the worker alone.
    assert "monitor.ingest.parse" in loaded
    assert sorted(loaded & {"monitor.ingest.feedsetup", "monitor.ingest.dates"}) == []


def test_check_with_rule_examples_loads_no_presearch_fetcher_or_scheduler(tmp_path):
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"name": "seed", "url": "https://news.example/rss.xml"}],
            "rules": [
                {
                    "name": "pompeo",
                    "query": "Pompeo AND (Pyongyang OR Seoul)",
                    "examples": {
                        "match": ["Pompeo may be returning to Pyongyang"],
                        "no_match": ["Pompeo stays in Washington"],
                    },
                }
            ],
            "channels": {"out": {"type": "console"}},
        },
    )
    result, loaded = loaded_by(tmp_path, "check", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "2 examples passed" in result.stdout
    assert sorted(loaded & set(PARSING + MATCHING + DAEMON_ONLY)) == []
    assert "monitor.rules.presearch" not in loaded and "monitor.ingest.fetch" not in loaded


NUMPY_THREADS = """\
import os
import monitor.rules.presearch  # imports numpy, as the first match does
print(os.environ["OPENBLAS_NUM_THREADS"], len(os.listdir("/proc/self/task")))
"""


def test_numpy_starts_no_blas_thread_unless_the_user_asks_for_them():
    # OpenBLAS starts one thread per core at numpy's import, ~0.1 s of CPU on two
    # cores (docs/architecture.md, "Start-up"); nothing of ours calls BLAS.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS")}
    env.update(PYTHONPATH=str(REPO))
    run = [sys.executable, "-c", NUMPY_THREADS]
    ours = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert ours.stdout.split() == ["1", "1"]  # the variable, and one thread: ours
    env["OPENBLAS_NUM_THREADS"] = "2"
    theirs = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert theirs.stdout.split()[0] == "2"  # a value the user set is kept
