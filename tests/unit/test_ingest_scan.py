"""The entry-id pre-scan agrees with the parser, and says None whenever unsure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.ingest.scan import scan_entry_ids, select_entries
from monitor.models import FeedRef
from tests.conftest import seed_feed

FEEDS = Path(__file__).parent.parent / "data" / "feeds"


def parsed_ids(body: bytes) -> set[str]:
    url = "http://example.org/feed"
    parsed = parse_feed(body, url, "application/xml")
    return {i.id for i in normalize_feed(parsed, FeedRef("t", url), datetime.now(UTC))}


@pytest.mark.parametrize("name", ["feed-full.xml", "feed-teaser.xml", "feed-syndicated.xml"])
def test_scan_matches_the_parser_on_the_seed_feeds(name):
    body = seed_feed(name, "http://127.0.0.1:1")
    assert scan_entry_ids(body) == parsed_ids(body)


def test_scan_matches_on_atom_and_absolute_links():
    body = (FEEDS / "atom10-base.xml").read_bytes()
    assert scan_entry_ids(body) == parsed_ids(body) == {"urn:uuid:1225c695"}
    rss = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>a</title><link>http://example.org/a?x=1&amp;y=2</link></item>
    <item><title>b</title><guid isPermaLink="false"> g&#233;2 </guid></item>
    <item><title>c</title><guid>tag:example.org,2018:3</guid></item></channel></rss>"""
    expected = {"http://example.org/a?x=1&y=2", "gé2", "tag:example.org,2018:3"}
    assert scan_entry_ids(rss) == parsed_ids(rss) == expected


def test_scan_keeps_relative_guids_as_written_like_the_parser():
    rss = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>a</title><guid>72122</guid></item>
    <item><title>b</title><guid>ru-1</guid></item></channel></rss>"""
    assert scan_entry_ids(rss) == parsed_ids(rss) == {"72122", "ru-1"}
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><title>a</title><id>123</id></entry></feed>"""
    assert scan_entry_ids(atom) == parsed_ids(atom) == {"123"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"items": []}',
        b"<rss><channel><item><title>no id</title></item></channel></rss>",
        b"<rss><channel><item><link>/relative</link></item></channel></rss>",
        b"<rss><channel><item><guid>a</guid><guid>b</guid></item></channel></rss>",
        b"<rss><channel><item><guid>N/A</guid></item><item><guid>N/A</guid></item></channel></rss>",
        b"<rss><channel><item><guid><![CDATA[a]]></guid></item></channel></rss>",
        b"<rss><channel><item><guid>&custom;</guid></item></channel></rss>",
        b"<rss><channel><item><guid>a</guid></item><item><guid>b</guid></channel></rss>",
        b"<rdf:RDF><item rdf:about='http://x/a'><link>http://x/a</link></item></rdf:RDF>",
        b"<rss><channel><item><guid>a</guid><atom:id>b</atom:id></item></channel></rss>",
        b"<feed><entry><id>a</id><source><id>s</id></source></entry></feed>",
        b"<rss><channel><rss:item><guid>a</guid></rss:item></channel></rss>",
        b'<!DOCTYPE r [<!ENTITY e "x">]><rss><channel><item><guid>a</guid></item></channel></rss>',
    ],
)
def test_scan_is_unsure(body):
    assert scan_entry_ids(body) is None


def test_a_new_entry_is_always_visible():
    body = seed_feed("feed-full.xml", "http://127.0.0.1:1")
    known = scan_entry_ids(body)
    newer = body.replace(
        b"<item>",
        b'<item><title>new</title><guid isPermaLink="false">brand-new</guid></item><item>',
        1,
    )
    assert scan_entry_ids(newer) == known | {"brand-new"}


def test_select_entries_parses_the_new_entries_exactly_as_the_whole_feed():
    body = seed_feed("feed-full.xml", "http://127.0.0.1:1")
    url = "http://example.org/feed"
    whole = normalize_feed(parse_feed(body, url, None), FeedRef("t", url), datetime.now(UTC))
    wanted = {whole[0].id, whole[-1].id}
    part = select_entries(body, wanted)
    assert part is not None and len(part) < len(body)
    items = normalize_feed(parse_feed(part, url, None), FeedRef("t", url), datetime.now(UTC))
    assert items == [whole[0], whole[-1]]
    assert (
        select_entries(b"<rss><channel><item><title>no id</title></item></channel></rss>", {"x"})
        is None
    )
