"""Regenerate (or ``--check``) the rendered samples in docs/samples/.

The seed scenario "same story from two outlets" (tests/data/seed: feed-full.xml and
feed-syndicated.xml, rules pompeo-pyongyang and end-of-war) is polled into a fresh
state directory without sending anything; then ``news-monitor preview`` renders the
email's text and HTML parts, and the Slack notifier builds the Block Kit messages
of the same pending digest. The email channel's times are in its time zone
(Asia/Seoul), Slack's in UTC. The time the preview was made is replaced by
``YYYY-MM-DD HH:MM KST`` (or ``UTC``) so the samples are stable.

    python docs/samples/regenerate.py               # write the samples
    python docs/samples/regenerate.py --check       # exit 1 if a committed sample differs
    python docs/samples/regenerate.py --screenshot  # also digest-email.png (Debian chromium)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SEED = REPO / "tests" / "data" / "seed"
BASE = "https://koreajoongangdaily.joins.com"
NOW_STAMP = re.compile(r"20[2-9]\d-\d\d-\d\d \d\d:\d\d (UTC|KST)")
SCREENSHOT = "digest-email.png"
SAMPLES = {
    "email.txt": ("mail", "text"),
    "email.html": ("mail", "html"),
}


def normalize(text: str) -> str:
    """Replace the preview's own time (not the 2018 story times) with a placeholder."""
    return NOW_STAMP.sub(r"YYYY-MM-DD HH:MM \1", text)


def write_config(work: Path) -> Path:
    """Seed feeds as files under ``work`` and a config with an email and a Slack channel."""
    feeds = []
    for name, title in (("feed-full.xml", "JoongAng Daily"), ("feed-syndicated.xml", "Wire")):
        (work / name).write_bytes((SEED / name).read_bytes().replace(b"__BASE__", BASE.encode()))
        feeds.append({"name": title, "url": f"file:{work / name}", "backfill": "all"})
    rules = yaml.safe_load((SEED / "expected.yaml").read_text())["rules"]
    config = {
        "state_dir": str(work / "state"),
        "feeds": feeds,
        "rules": [{"name": n, "query": q} for n, q in rules.items()],
        "channels": {
            "mail": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": 9},
                "from": "alerts@example.org",
                "to": ["analyst@example.org"],
                "schedule": "cron: 0 7,12,17 * * *",
                "timezone": "Asia/Seoul",
            },
            "team-slack": {"type": "slack", "webhook_url": "https://hooks.slack.com/x"},
        },
    }
    path = work / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def poll(config_path: Path) -> dict[str, str]:
    """Poll the feeds once (nothing is sent) and build the Slack sample from the outbox."""
    sys.path.insert(0, str(REPO))
    from monitor.config import load
    from monitor.notify.render import Renderer
    from monitor.notify.slack import build_messages
    from monitor.pipeline import poll_feed
    from monitor.runtime import build_runtime
    from monitor.store.outbox import Outbox

    config = load(config_path)
    rt = build_runtime(config)

    async def go() -> None:
        for feed in config.feeds:  # one after the other: the first feed leads the story
            await poll_feed(rt, feed, force=True)
        await rt.aclose()

    asyncio.run(go())
    rt = build_runtime(config)
    digest = Outbox(rt.store).preview("team-slack", datetime.now(UTC))
    zone = config.channels["team-slack"].timezone
    messages = build_messages(digest, Renderer(config.templates_dir).in_zone(zone))
    asyncio.run(rt.aclose())
    return {"slack.json": json.dumps(messages, indent=2, ensure_ascii=False) + "\n"}


def preview(config_path: Path, channel: str, fmt: str) -> str:
    """``news-monitor preview --channel CHANNEL --format FMT``: the message alone (``text``
    prints a header line first on stdout, ``html`` and ``json`` on stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "preview", "-c", str(config_path)]
        + ["--channel", channel, "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=config_path.parent,
    ).stdout
    return out.split("\n", 1)[1] if fmt == "text" else out  # "=== channel mail: …" is not the mail


def render_all(screenshot: bool = False) -> dict[str, str]:
    """Every sample's text, normalized; with ``screenshot``, also write the PNG."""
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_config(Path(tmp))
        samples = poll(config_path)
        for name, (channel, fmt) in SAMPLES.items():
            samples[name] = preview(config_path, channel, fmt)
        if screenshot:
            page = Path(tmp) / "email.html"
            page.write_text(samples["email.html"], encoding="utf-8")  # the real time shown
            take_screenshot(page, HERE / SCREENSHOT)
    return {name: normalize(text) for name, text in samples.items()}


def take_screenshot(page: Path, png: Path) -> None:
    """Render ``page`` in headless Chromium (Debian's ``chromium``) into ``png``, 900×1200."""
    browser = shutil.which("chromium") or shutil.which("chromium-headless-shell")
    if browser is None:
        raise SystemExit("no chromium: apt-get install chromium fonts-noto-cjk")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        + [f"--screenshot={png}", "--window-size=900,1200", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote docs/samples/{png.name}")


def main(argv: list[str]) -> int:
    """Write the samples, or with ``--check`` report those that differ (exit 1)."""
    samples = render_all(screenshot="--screenshot" in argv)
    if "--check" in argv:
        stale = [n for n, t in samples.items() if (HERE / n).read_text(encoding="utf-8") != t]
        for name in stale:
            print(f"docs/samples/{name} is stale: run python docs/samples/regenerate.py")
        return 1 if stale else 0
    for name, text in samples.items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/samples/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
