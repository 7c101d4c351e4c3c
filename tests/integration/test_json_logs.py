"""``--log-format json`` gives feed, rule, channel and message id keys of their own
(issue #15 point 12), so journald and log shippers can filter on them.

``run --once`` in a subprocess polls a seed feed from a real HTTP server and sends to
a webhook on it; every stderr line must be one JSON object, and the lines about a
match, a send and a failed attempt must carry the keys.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import run_cli, serve_seed, write_config
from tests.servers import HttpServer

HOSTILE_GUID = "x' channel=evil message=forged"


def run_json(tmp_path, server: HttpServer, feeds: list[str], *flags: str) -> tuple[Any, list[dict]]:
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": url, "backfill": "all"} for url in feeds],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang", "notify": ["hook"]}],
            "channels": {"hook": {"type": "webhook", "url": server.url("/hook")}},
        },
    )
    args = ("run", "--once", *flags, "--log-format", "json", "--config", str(config))
    result = run_cli(*args, cwd=tmp_path)
    return result, [json.loads(line) for line in result.stderr.splitlines()]


def test_match_and_send_lines_carry_feed_rule_channel_and_message(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    http_server.respond_post("/hook", (503, {}, b"busy"), (200, {}, b"ok"))
    first, lines = run_json(tmp_path, http_server, list(urls.values()))
    assert first.returncode == 3, first.stderr
    matched = [e for e in lines if "rule" in e]
    assert matched and all(e["rule"] == "pompeo" for e in matched), lines
    assert all(e["feed"] == urls["feed-full.xml"] and "item" in e for e in matched)
    (polled,) = [e for e in lines if "parsed" in e]  # the poll's summary line
    assert (polled["feed"], polled["new"], polled["alerts"]) == (urls["feed-full.xml"], 5, 1)
    (failed,) = [e for e in lines if e.get("attempt") == 1]
    assert failed["channel"] == "hook" and failed["level"] == "warning"
    assert failed["message"] in http_server.requests_to("/hook")[0].headers["webhook-id"]

    second, lines = run_json(tmp_path, http_server, list(urls.values()), "--retry-now")
    assert second.returncode == 0, second.stderr
    (sent,) = [e for e in lines if " sent: HTTP 200 " in e["msg"]]
    assert (sent["channel"], sent["message"], sent["stories"]) == ("hook", failed["message"], 1)


def test_a_feed_cannot_add_keys_through_its_text(tmp_path, http_server):
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>Pompeo in Pyongyang channel=evil</title><guid>{HOSTILE_GUID}</guid>"
        "<description>Pompeo flew to Pyongyang.</description></item></channel></rss>"
    )
    http_server.route("/hostile.xml", rss)
    http_server.respond_post("/hook", (200, {}, b"ok"))
    result, lines = run_json(tmp_path, http_server, [http_server.url("/hostile.xml")])
    assert result.returncode == 0, result.stderr
    (matched,) = [e for e in lines if "rule" in e]
    assert matched["item"] == HOSTILE_GUID and "channel" not in matched
    assert all(e.get("channel") in (None, "hook") for e in lines)
    assert all(e.get("message") != "forged" for e in lines)
