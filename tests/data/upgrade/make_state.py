"""Writes ``state-v0/``: the state an earlier news-monitor left after polling these feeds.

Run it with the code of the version to carry over from, e.g. (from the repository)::

    git worktree add /tmp/old d5fe1d2
    PYTHONPATH=/tmp/old python tests/data/upgrade/make_state.py

It serves the feeds of this folder on 127.0.0.1, runs ``news-monitor run --once``
(backfill: all) with that code and keeps the state directory beside this file. The
feeds' origin is recorded in ``state-v0/ORIGIN`` so a test can move it to its own
server (tests/integration/test_upgrade.py).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

HERE = Path(__file__).parent
LONG_GUID = "urn:example:" + "g" * 600


def feeds(folder: Path) -> None:
    """The served documents: the fixtures, and one whose guid is longer than 500."""
    for name in ("bare-guid-poll1.xml", "shared-guid.xml"):
        shutil.copy(HERE / name, folder / name)
    (folder / "long-guid.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Long</title>'
        f"<item><title>Report with a long guid</title><guid>{LONG_GUID}</guid>"
        "<link>https://example.org/long</link></item></channel></rss>"
    )


def main() -> None:
    work = Path(tempfile.mkdtemp())
    (work / "feeds").mkdir()
    feeds(work / "feeds")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(work))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    names = ("bare-guid-poll1.xml", "shared-guid.xml", "long-guid.xml")
    config = {
        "state_dir": str(work / "state"),
        "allow_private_networks": True,
        "feeds": [{"url": f"{origin}/feeds/{n}", "backfill": "all"} for n in names],
        "rules": [{"name": "all", "query": "build OR suite OR report"}],
        "channels": {"out": {"type": "console"}},
    }
    (work / "monitor.yaml").write_text(yaml.safe_dump(config))
    run = [sys.executable, "-m", "monitor", "run", "--once", "--config", "monitor.yaml"]
    done = subprocess.run(run, cwd=work, capture_output=True, text=True, env=dict(os.environ))
    server.shutdown()
    print(done.stdout, done.stderr, sep="\n")
    target = HERE / "state-v0"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(work / "state", target, ignore=shutil.ignore_patterns("*.lock", "*-wal"))
    (target / "ORIGIN").write_text(origin + "\n")


if __name__ == "__main__":
    main()
