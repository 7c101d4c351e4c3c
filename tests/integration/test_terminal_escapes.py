"""Terminal escape sequences in feeds never reach the terminal (issue #14, point 13).

A feed served over HTTP (RSS with the raw characters, JSON Feed with them escaped)
puts ``ESC [ 2 J`` (clear screen), OSC 52 (write the clipboard), OSC 8 (a hidden
link), the 8-bit CSI U+009B, CR, backspace and BEL into every field: title,
summary, content, link, author, tags, guid. ``fetch``, ``test-rule``, ``run --once``
with a console channel, ``status`` and the daemon's log (text and JSON; a feed whose
URL holds the same characters fails, so its error carries them) must print none of
those characters.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_cli, write_config
from tests.integration.daemon_helpers import DaemonProcess

HOSTILE = "\x1b[2J\x1b]52;c;Y2FuYXJ5\x07\x1b]8;;http://evil.example/\x1b\\\x9b31m\rX\x08\x07"
# ESC, BEL, BS, CR and every other C0 control but tab and line feed; DEL; C1.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile{HOSTILE}</title><link>http://h.example/</link>
<item><title>Pompeo{HOSTILE} in Pyongyang</title>
<link>http://h.example/a{HOSTILE}</link><guid>g-1{HOSTILE}</guid>
<author>x@h.example (Eve{HOSTILE})</author><category>tag{HOSTILE}</category>
<description>Pompeo visits Pyongyang.{HOSTILE} More.</description></item>
</channel></rss>"""
JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": f"Hostile{HOSTILE}",
    "items": [
        {
            "id": f"j-1{HOSTILE}",
            "url": f"http://h.example/j{HOSTILE}",
            "title": f"Pompeo{HOSTILE} and Pyongyang",
            "summary": f"Pompeo visits Pyongyang.{HOSTILE}",
            "content_text": f"Pompeo{HOSTILE} Pyongyang text",
            "authors": [{"name": f"Eve{HOSTILE}"}],
            "tags": [f"tag{HOSTILE}"],
        }
    ],
}


def forbidden(text: str) -> list[str]:
    """The control characters in ``text`` that a terminal would act on."""
    return sorted({f"U+{ord(c):04X}" for c in FORBIDDEN.findall(text)})


@pytest.fixture
def hostile(http_server):
    http_server.route("/hostile.xml", RSS.encode(), headers={"Content-Type": "application/xml"})
    http_server.route("/hostile.json", json.dumps(JSON_FEED).encode())
    return {"rss": http_server.url("/hostile.xml"), "json": http_server.url("/hostile.json")}


@pytest.mark.parametrize("kind", ["rss", "json"])
def test_fetch_and_test_rule_print_no_control_characters(tmp_path, hostile, kind):
    url = hostile[kind]
    outputs = {}
    for args in (
        ("fetch", url),
        ("fetch", "--json", url),
        ("test-rule", "Pompeo AND Pyongyang", url),
        ("test-rule", "--explain", "Pompeo AND Pyongyang", url),
        ("test-rule", "--json", "--explain", "Pompeo AND Pyongyang", url),
    ):
        result = run_cli(*args, cwd=tmp_path, env={"NEWS_MONITOR_CONFIG": ""})
        assert result.returncode == 0, result.stderr
        outputs[" ".join(args[:-1])] = result.stdout + result.stderr
    assert "Pompeo" in outputs["fetch"] and "MATCH" in outputs["test-rule Pompeo AND Pyongyang"]
    found = {args: forbidden(text) for args, text in outputs.items() if forbidden(text)}
    assert not found, found


def test_console_channel_status_and_logs_print_no_control_characters(
    tmp_path, http_server, hostile
):
    broken = http_server.url(f"/missing{HOSTILE}.xml")
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [
                {"url": hostile["rss"], "backfill": "all"},
                {"url": hostile["json"], "backfill": "all"},
                {"url": broken},
            ],
            "rules": [{"name": f"pompeo{HOSTILE}", "query": "Pompeo AND Pyongyang"}],
            "channels": {"console": {"type": "console"}},
        },
    )
    cfg = ("--config", str(config))
    seen = {}
    once = run_cli("run", "--once", "--log-level", "debug", *cfg, cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert "Pompeo" in once.stdout and "poll failed" in once.stderr
    seen["run --once"] = once.stdout + once.stderr
    for args in (("status",), ("status", "--json")):
        result = run_cli(*args, *cfg, cwd=tmp_path)
        seen[" ".join(args)] = result.stdout + result.stderr
    (tmp_path / "state").rename(tmp_path / "once-state")  # the daemon polls afresh
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.wait_for_log("poll failed")
    finally:
        daemon.stop()
        daemon.kill()
    seen["daemon"] = daemon.log + daemon.stdout
    json_log = run_cli(
        "run", "--once", "--log-format", "json", "--log-level", "debug", *cfg, cwd=tmp_path
    )
    seen["run --once (json log)"] = json_log.stdout + json_log.stderr
    assert "\\x1b[2J" in once.stderr  # the log shows what the feed sent, escaped
    found = {where: forbidden(text) for where, text in seen.items() if forbidden(text)}
    assert not found, found
