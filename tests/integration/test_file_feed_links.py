"""Relative links in a ``file:`` feed resolve to the file's folder (RFC 8089, RFC 3986
§5.2): feedparser's second join used to turn ``file:///work/x`` into
``file://work/x`` (a host named "work"), and a relative ``file:feed.xml`` base gave
``file:///link``. ``fetch`` runs in a subprocess from the feed's parent folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.ingest.parse import parse_feed
from monitor.ingest.uris import link_base
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title><link>site/</link>
<item><title>One</title><link>news/one.html</link><guid>one</guid></item>
<item><title>Two</title><link>/abs/two.html</link><guid>two</guid></item>
</channel></rss>
"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="sub/"><title>Local</title>
<id>urn:x</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title>Three</title><id>urn:3</id><updated>2026-12-01T00:00:00Z</updated>
<link href="three.html"/></entry></feed>
"""


def test_fetch_of_a_relative_path_gives_links_in_the_files_folder(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "local.xml").write_bytes(RSS)
    (folder / "atom.xml").write_bytes(ATOM)
    rss = run_cli("fetch", "feeds/local.xml", "--json", cwd=tmp_path)
    assert rss.returncode == 0, rss.stderr
    links = [json.loads(line)["link"] for line in rss.stdout.splitlines()]
    assert links == [(folder / "news/one.html").as_uri(), "file:///abs/two.html"]
    atom = run_cli("fetch", f"file:{folder}/atom.xml", "--json", cwd=tmp_path)
    assert atom.returncode == 0, atom.stderr
    assert json.loads(atom.stdout)["link"] == (folder / "sub/three.html").as_uri()


@pytest.mark.parametrize(
    "url",
    [
        "file:/srv/feeds/local.xml",
        "file:///srv/feeds/local.xml",
        "file://localhost/srv/feeds/local.xml",
    ],
)
def test_every_spelling_of_an_absolute_file_url_gives_the_same_links(url: str) -> None:
    (one, two) = parse_feed(RSS, url).entries
    assert (one["link"], two["link"]) == ("file:///srv/feeds/news/one.html", "file:///abs/two.html")


def test_link_base_leaves_other_urls_alone() -> None:
    assert link_base("https://example.org/a/feed.xml") == "https://example.org/a/feed.xml"
    assert link_base("file:///srv/x.xml") == "file:///srv/x.xml"
    assert link_base("file:my%20feeds/x.xml").endswith("/my%20feeds/x.xml")
    assert link_base("file:my%20feeds/x.xml").startswith("file:///")
