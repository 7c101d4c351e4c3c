"""``preview --format json|html`` print one document on stdout (their ``=== channel``
lines go to stderr); ``text`` and ``sent`` keep those lines on stdout. The CLI runs in
a subprocess on a state whose webhook channels could not deliver (a real HTTP server
on 127.0.0.1 answering 503); a console channel delivered its stories, so it has none.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import run_cli, serve_seed, write_config

pytestmark = pytest.mark.integration

PENDING = r"^=== channel {}: [1-9]\d* stor(y|ies) pending ===$"  # the stories as folded


def pending(tmp_path: Path, http_server) -> Path:
    """Stories pending for ``hook`` and ``mirror``; none for ``screen``."""
    urls = serve_seed(http_server, "feed-full.xml")
    http_server.respond_post("/hook", (503, {}, "down"))
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": urls["feed-full.xml"], "backfill": "all"}],
            "rules": [{"name": "korea", "query": "Korea OR Pyongyang"}],
            "channels": {
                "hook": {"type": "webhook", "url": http_server.url("/hook")},
                "screen": {"type": "console"},
                "mirror": {"type": "webhook", "url": http_server.url("/hook")},
            },
        },
    )
    done = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr  # the hooks did not deliver
    return config


def preview(config: Path, *args: str):
    """``news-monitor preview ARGS`` on ``config``, run where the config is."""
    return run_cli("preview", *args, "--config", str(config), cwd=config.parent)


def test_json_is_one_object_keyed_by_channel(tmp_path, http_server):
    config = pending(tmp_path, http_server)
    shown = preview(config, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    bodies = json.loads(shown.stdout)  # the whole of stdout is one JSON document
    assert list(bodies) == ["hook", "screen", "mirror"]  # config order
    assert bodies["screen"] is None  # the console delivered: nothing pending
    assert bodies["hook"]["version"] == 1 and bodies["hook"]["items"]
    assert bodies["mirror"]["items"] == bodies["hook"]["items"]
    headers = shown.stderr.splitlines()
    assert headers[1] == "=== channel screen: 0 stories pending ===", headers
    assert len(headers) == 3 and all(h.startswith("=== channel ") for h in headers)
    one = preview(config, "--format", "json", "--channel", "mirror")
    assert list(json.loads(one.stdout)) == ["mirror"]


class _Tags(HTMLParser):
    """The start tags of a document, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def test_html_with_channel_is_exactly_the_page(tmp_path, http_server):
    config = pending(tmp_path, http_server)
    shown = preview(config, "--format", "html", "--channel", "hook")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert shown.stdout.rstrip().endswith("</html>")
    assert "===" not in shown.stdout
    (header,) = shown.stderr.splitlines()
    assert re.fullmatch(PENDING.format("hook"), header), header
    parsed = _Tags()
    parsed.feed(shown.stdout)
    assert parsed.tags[0] == "html" and parsed.tags.count("html") == 1
    nothing = preview(config, "--format", "html", "--channel", "screen")
    assert nothing.returncode == 0 and nothing.stdout == ""
    assert "screen: 0 stories pending" in nothing.stderr


def test_html_without_channel_among_several_is_refused(tmp_path, http_server):
    config = pending(tmp_path, http_server)
    shown = preview(config, "--format", "html")
    assert shown.returncode == 2 and shown.stdout == ""
    assert shown.stderr == (
        "news-monitor: --format html shows one channel: add --channel NAME "
        "(channels: hook, screen, mirror)\n"
    )


def test_text_and_sent_keep_their_headers_on_stdout(tmp_path, http_server):
    config = pending(tmp_path, http_server)
    for fmt in ("text", "sent"):
        shown = preview(config, "--format", fmt)
        assert shown.returncode == 0, shown.stderr
        assert re.search(PENDING.format("hook"), shown.stdout, re.M), shown.stdout
        assert "=== channel screen: 0 stories pending ===" in shown.stdout
        assert shown.stderr == ""
