"""Writes ``state-v10/``: the state news-monitor left at schema 10 (before migration 11,
issue #18), and what that version's ``history`` and ``status`` said about it.

Run it with the code of schema 10, e.g. (from the repository)::

    git worktree add /tmp/old f66bffd
    PYTHONPATH=/tmp/old python tests/data/upgrade/make_state_v10.py

Two polls of feeds served on 127.0.0.1, then ``history --json`` and the status
rule counts (as of one hour after the second poll) are kept beside the database:

- ``quiet`` (``backfill: 0``): a backlog of six items, two of which match a rule
  (baseline matches, their text kept) and four that match nothing (slim rows); one link
  carries tracking parameters (its canonical URL differs from the link); one item
  has no guid (keyed by its link). At the second poll one matching item is edited
  (it must not alert again) and a new one arrives (it alerts);
- ``other`` (``backfill: all``): an item the rules do not match;
- ``wire`` (``backfill: all``, from the second poll): a copy of a ``quiet`` backlog
  item under its canonical link (it joins that story and alerts it), and an item of
  its own.

Channels: ``console`` (sent) and ``hook``, a webhook on a closed port (its alerts
stay pending). ``ORIGIN`` records the feeds' origin, ``NOW`` the last poll's time.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

HERE = Path(__file__).parent
WORDS = [
    *("officials", "said", "talks", "would", "continue", "next", "week", "capital"),
    *("markets", "rates", "bank", "steel", "weather", "storm", "coast", "trade", "envoy"),
    *("minister", "summit", "harbour", "election", "court", "ruling"),
]


def body(seed: int) -> str:
    """Text of its own for each item (no two fold together as near duplicates)."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(80)) + "."


def item(guid: str | None, title: str, link: str, text: str = "", date: str = "") -> str:
    """One RSS item (text: :func:`body` of its title); no ``<guid>`` when ``guid`` is None."""
    text = text or body(sum(map(ord, title)))
    parts = [f"<title>{title}</title>", f"<link>{link}</link>"]
    parts.append(f"<description>{text}</description>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if date:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + "</item>"


def rss(title: str, *items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title>" + "".join(items) + "</channel></rss>"
    )


def quiet(second: bool) -> str:
    """Feed ``quiet``: its backlog, and at the second poll an edit and a new item."""
    lead_body = body(1) + (" Pompeo arrived late." if second else "")
    items = [
        item("q-lead", "Pompeo to visit Pyongyang", "https://q.example/lead", lead_body),
        item(
            "q-tracked",
            "Pompeo meets envoy in Pyongyang",
            "https://q.example/tracked?utm_source=rss&id=7",
        ),
        item(None, "Markets close higher", "https://q.example/markets"),
    ]
    items += [item(f"q-{n}", f"Rates on hold {n}", f"https://q.example/{n}") for n in range(3)]
    if second:
        items.insert(0, item("q-new", "Pompeo back in Pyongyang", "https://q.example/new"))
    return rss("Quiet", *items)


def write_feeds(folder: Path, second: bool) -> None:
    """The documents of the first poll, or of the second."""
    (folder / "quiet.xml").write_text(quiet(second))
    wire = [
        item("w-1", "Pompeo, envoy meet in Pyongyang", "https://q.example/tracked?id=7", "Short."),
        item("w-2", "Tariffs on steel rise", "https://w.example/2"),
    ]
    (folder / "wire.xml").write_text(rss("Wire", *wire))
    (folder / "other.xml").write_text(rss("Other", item("o-1", "Weather", "https://o.example/1")))


def feeds(origin: str, second: bool) -> list[dict]:
    """``quiet`` and ``other`` at the first poll (so the backlog is recorded first);
    ``wire`` joins at the second."""
    names = {"quiet": 0, "other": "all"} | ({"wire": "all"} if second else {})
    return [
        {"name": name, "url": f"{origin}/feeds/{name}.xml", "backfill": backfill}
        for name, backfill in names.items()
    ]


def cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = [sys.executable, "-m", "monitor", *args, "--config", "monitor.yaml"]
    return subprocess.run(run, cwd=work, capture_output=True, text=True, env=dict(os.environ))


def main() -> None:
    work = Path(tempfile.mkdtemp())
    (work / "feeds").mkdir()
    write_feeds(work / "feeds", second=False)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(work))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    config = {
        "state_dir": str(work / "state"),
        "allow_private_networks": True,
        "feeds": feeds(origin, second=False),
        "rules": [
            {"name": "pp", "query": "Pompeo AND Pyongyang", "notify": ["console", "hook"]},
            {"name": "tariffs", "query": "tariffs", "notify": ["console"]},
        ],
        "channels": {
            "console": {"type": "console"},
            "hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
        },
    }
    for second in (False, True):
        config["feeds"] = feeds(origin, second)
        (work / "monitor.yaml").write_text(yaml.safe_dump(config))
        write_feeds(work / "feeds", second)
        done = cli(work, "run", "--once")
        print(done.stdout, done.stderr, sep="\n")
    server.shutdown()
    history = cli(work, "history", "--json")
    assert history.returncode == 0, history.stderr
    target = HERE / "state-v10"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(work / "state", target, ignore=shutil.ignore_patterns("*.lock", "*-wal"))
    (target / "ORIGIN").write_text(origin + "\n")
    (target / "history.json").write_text(history.stdout)
    (target / "status-rules.json").write_text(json.dumps(status_rules(target), indent=1) + "\n")


def status_rules(state: Path) -> dict:
    """The rule counts ``status`` shows, one hour after the last poll (kept in ``NOW``)."""
    from datetime import timedelta

    from monitor.store.codec import parse_ts
    from monitor.store.history import split_baseline
    from monitor.store.sqlite import Store
    from monitor.store.status import rule_counts

    store = Store.open(state, create=False)
    try:
        last = store.conn.execute("SELECT MAX(first_seen) FROM items").fetchone()[0]
        now = parse_ts(last) + timedelta(hours=1)
        (state / "NOW").write_text(last + "\n")
        return split_baseline(store.conn, rule_counts(store, now), now)
    finally:
        store.close()
        for extra in ("monitor.db-wal", "monitor.db-shm"):
            (state / extra).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
