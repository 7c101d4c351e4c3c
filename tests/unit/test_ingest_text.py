"""Reading a feed right: encodings, text versus markup, entities, controls, links, identity."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest

from monitor.cli.sources import document_item
from monitor.dedup import item_key
from monitor.ingest.charset import decode_document
from monitor.ingest.entities import repair_entities
from monitor.ingest.htmltext import field_text, html_to_text
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import parse_feed
from monitor.models import FeedRef

URL = "http://127.0.0.1:1/feeds/f.xml"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
CYRILLIC = "Новости дня: погода в столице"


def rss(items: str, head: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return f'{head}<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def items_of(body: bytes, content_type: str | None = "application/rss+xml"):
    return normalize_feed(parse_feed(body, URL, content_type), FeedRef("f", URL), NOW)


@pytest.mark.parametrize("blank", ["\n\n", "  \r\n\t", "\n"])
def test_declaration_after_white_space_names_the_encoding(blank):
    head = f'{blank}<?xml version="1.0" encoding="windows-1251"?>'
    body = rss(f"<item><title>{CYRILLIC}</title><guid>ru-1</guid></item>", head)
    (item,) = items_of(body.encode("cp1251"), "application/rss+xml")
    assert item.title == CYRILLIC and item.id == "ru-1"


def test_order_bom_then_http_charset_then_declaration():
    text = rss("<item><title>Café Пхеньян</title></item>")
    assert decode_document(codecs.BOM_UTF8 + text.encode(), "text/xml; charset=koi8-r").encoding
    assert "Пхеньян" in decode_document(codecs.BOM_UTF8 + text.encode(), "x; charset=koi8-r").text
    legacy = rss("<item><title>Пхеньян</title></item>", '<?xml version="1.0"?>')
    found = decode_document(legacy.encode("koi8-r"), "application/xml; charset=KOI8-R")
    assert found.encoding == "koi8-r" and "Пхеньян" in found.text
    declared = rss("<item><title>Пхеньян</title></item>", '<?xml version="1.0" encoding="koi8-r"?>')
    assert "Пхеньян" in decode_document(declared.encode("koi8-r"), "application/xml").text
    utf16 = codecs.BOM_UTF16_LE + rss("<item><title>Пхеньян</title></item>").encode("utf-16-le")
    assert "Пхеньян" in decode_document(utf16, None).text


def test_one_invalid_byte_costs_one_character_not_the_document():
    body = rss(f"<item><title>{CYRILLIC} é</title><description>ok</description></item>").encode()
    broken = body.replace("é".encode(), b"\xff")
    found = decode_document(broken, "application/rss+xml; charset=utf-8")
    assert found.encoding == "utf-8" and f"{CYRILLIC} \ufffd" in found.text
    assert "1 invalid byte replaced" in (found.note or "")
    (item,) = items_of(broken)
    assert item.title == f"{CYRILLIC} \ufffd"


def test_a_legacy_document_labelled_utf8_is_read_and_logged():
    body = rss("<item><title>Café in Pyeongchang</title></item>").encode("latin-1")
    found = decode_document(body, "text/xml; charset=utf-8")
    assert "Café in Pyeongchang" in found.text and found.encoding != "utf-8"
    assert found.note and "not UTF-8" in found.note
    assert parse_feed(body, URL, "text/xml; charset=utf-8").warning


def test_undeclared_legacy_document_is_guessed():
    body = rss("<item><title>Новости дня: погода в столице и области сегодня</title></item>", "")
    found = decode_document(body.encode("cp1251"), None)
    assert "погода в столице" in found.text


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("D&D", "D&amp;D"),
        ("a & b", "a &amp; b"),
        ("caf&eacute;", "caf&#233;"),
        ("&amp;&lt;&#233;&#xE9;", "&amp;&lt;&#233;&#xE9;"),
        ("&nosuch;", "&amp;nosuch;"),
        ("<![CDATA[D&D &eacute;]]>", "<![CDATA[D&D &eacute;]]>"),
        ("x&#1;y", "xy"),
    ],
)
def test_entities_are_repaired_as_a_browser_reads_them(written, read):
    assert repair_entities(written) == read


def test_bare_ampersand_and_html_entities_in_a_feed():
    body = rss(
        "<item><title>I'm just doing D&D, caf&eacute; &amp; more</title><guid>g</guid></item>"
    )
    (item,) = items_of(body.encode())
    assert item.title == "I'm just doing D&D, café & more"


def test_text_stays_text_html_becomes_text():
    assert field_text("includes <button> & <script>x", "text") == "includes <button> & <script>x"
    assert field_text("AT&amp;T <b>", "rss") == "AT&T <b>"
    assert field_text("<p>One</p><script>bad()</script><p>Two</p>", "html") == "One\n\nTwo"
    assert html_to_text("a <![CDATA[market news]]> b") == "a market news b"
    assert html_to_text("see <script> then the rest") == "see <script> then the rest"


def test_atom_text_and_escaped_cdata_keep_every_word():
    atom = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>c</title>
    <entry><id>urn:1</id><title type="text">includes &lt;button&gt;</title>
    <summary type="text">names &lt;script&gt; and &lt;style&gt;: THE TAIL</summary></entry>
    <entry><id>urn:2</id><title type="html">&lt;b&gt;bold&lt;/b&gt; news</title></entry></feed>"""
    first, second = items_of(atom.encode(), "application/atom+xml")
    assert first.title == "includes <button>"
    assert first.summary == "names <script> and <style>: THE TAIL"
    assert second.title == "bold news"
    cdata = rss(
        "<item><guid>t</guid><description>&lt;![CDATA[about the market]]&gt;</description></item>"
    )
    assert items_of(cdata.encode())[0].summary == "about the market"


def test_control_characters_are_dropped_from_every_field():
    body = rss(
        "<item><title>a\x1b[31mred\x07</title><guid>g\x01</guid><author>x\x0b</author>"
        "<description>&#x1b;[2Jclear&#127;</description><link>http://e.org/\x02a</link></item>"
    )
    (item,) = items_of(body.encode())
    assert (item.title, item.guid, item.summary, item.link) == (
        "a[31mred",
        "g",
        "[2Jclear",
        "http://e.org/a",
    )


def test_links_are_kept_whole_or_dropped_never_cut():
    long_link = "https://example.org/r?" + "&amp;".join(f"k{i}=v{i:04}" for i in range(60))
    huge = "https://example.org/" + "x" * 9000
    body = rss(
        f"<item><guid>a</guid><link>{long_link}</link></item>"
        f"<item><guid>b</guid><link>{huge}</link></item>"
    )
    first, second = items_of(body.encode())
    assert first.link == long_link.replace("&amp;", "&") and len(first.link) > 500
    assert second.link is None


def test_guid_is_kept_as_written_and_never_becomes_a_link():
    body = rss(
        "<item><title>a</title><guid>72122</guid></item>"
        '<item><title>b</title><guid isPermaLink="false">http://e.org/not-a-link</guid></item>'
        "<item><title>c</title><guid>https://e.org/c</guid></item>"
    )
    a, b, c = items_of(body.encode())
    assert (a.id, a.guid, a.link) == ("72122", "72122", None)
    assert a.former_key == "http://127.0.0.1:1/feeds/72122"  # what earlier versions stored
    assert (b.guid, b.link) == ("http://e.org/not-a-link", None)
    assert (c.guid, c.link) == ("https://e.org/c", "https://e.org/c")


def test_a_repeated_guid_falls_back_to_link_then_text():
    body = rss(
        "<item><title>one</title><link>http://e.org/1</link><guid>N/A</guid></item>"
        "<item><title>two</title><link>http://e.org/2</link><guid>N/A</guid></item>"
        "<item><title>three</title><link>http://e.org/up</link><guid>X</guid></item>"
        "<item><title>four</title><link>http://e.org/up</link><guid>X</guid></item>"
    )
    parsed = parse_feed(body.encode(), URL, "application/rss+xml")
    assert "repeated" in (parsed.warning or "")
    items = normalize_feed(parsed, FeedRef("f", URL), NOW)
    assert [i.title for i in items] == ["one", "two", "three", "four"]
    assert [i.id for i in items[:2]] == ["http://e.org/1", "http://e.org/2"]
    assert items[2].id.startswith("sha256:") and items[2].id != items[3].id
    assert {i.guid for i in items} == {"N/A", "X"}


def test_json_feed_bad_item_is_skipped_not_the_feed():
    body = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": [
      {"id": "1", "title": "good <b>text</b>", "content_text": "a < b",
       "date_published": "2026-11-29T10:00:00Z"},
      {"id": "2", "title": "bad", "tags": true},
      {"id": "3", "title": "overflow", "date_published": "9999-12-31T23:59:59-01:00"}]}"""
    parsed = parse_feed(body, URL, "application/feed+json")
    items = normalize_feed(parsed, FeedRef("f", URL), NOW)
    assert [i.id for i in items] == ["1", "3"] and [n for n, _ in parsed.skipped] == [2]
    assert items[0].title == "good <b>text</b>" and items[0].content == "a < b"
    assert items[0].published == datetime(2026, 11, 29, 10, tzinfo=UTC)
    assert items[1].published is None


def test_a_repeated_link_identifies_no_entry_either():
    body = rss(
        "<item><title>ADV-1</title><link>http://e.org/upcoming/</link></item>"
        "<item><title>ADV-2</title><link>http://e.org/upcoming/</link></item>"
        "<item><title>ADV-2</title><link>http://e.org/upcoming/</link></item>"
        "<item><title>own</title><link>http://e.org/own</link></item>"
    )
    items = items_of(body.encode())
    assert [i.title for i in items] == ["ADV-1", "ADV-2", "own"]  # the exact repeat folds
    assert items[0].id.startswith("sha256:") and items[0].id != items[1].id
    assert items[2].id == "http://e.org/own"
    assert len({item_key(i) for i in items}) == 3


def test_a_document_that_is_no_feed_is_decoded_like_one():
    page = "<html><head><title>Новости</title></head><body><p>погода в столице</p></body>"
    item = document_item(page.encode("cp1251"), "page", None, "text/html; charset=windows-1251")
    assert (item.title, item.content) == ("Новости", "Новости\n\nпогода в столице")
    bom = document_item(codecs.BOM_UTF8 + "Пхеньян".encode(), "<stdin>")
    assert bom.content == "Пхеньян"


def test_drop_controls_keeps_printable_text_and_drops_c0_and_c1():
    from monitor.ingest.htmltext import drop_controls

    text = "서울 — Pyongyang talks, «déclaration» ½"
    assert drop_controls(text) is text  # printable: returned as it is
    assert drop_controls("서울\x85 뉴스\x80\x1b[0m") == "서울 뉴스[0m"
    assert drop_controls("a\tb\nc\x7f") == "a\tb\nc"
    assert drop_controls("a\tb\nc", keep_lines=False) == "abc"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one  two</p>\n\n<p> three </p>", "one two\n\nthree"),
        ("<p>a\u00a0b\tc</p><p>d\r\ne</p>", "a b c\n\nd\n\ne"),  # odd spaces, CRLF
        ("<p>\x1bcolor\x7f</p> \n \u2028 \n<p>x\u2028y</p>", "color\n\nx\u2028y"),
        ("<p>서울 \n\n\n 뉴스</p>", "서울\n\n뉴스"),
        ("plain line", "plain line"),
        (" \n \t\n ", ""),
    ],
)
def test_white_space_is_collapsed_and_lines_become_paragraphs(html, text):
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    "base",
    ["http://e.org/feed.xml", "http://e.org/a//b/rss?x=1#f", "http://e.org", "feed.xml"]
    + ["file:///tmp/a.xml", "http://e.org/a/../b/c", "mailto:x", "http://e.org/a;p?q"],
)
def test_former_key_of_a_relative_guid_is_what_urljoin_gave(base):
    from urllib.parse import urljoin

    from monitor.ingest.entryid import former_key

    for guid in ["1", "a.b", ".x", "..", ".", "...", "f0-i10", "%41", "a b", "a/b", "?q", "#f"]:
        joined = urljoin(base, guid).strip()
        assert former_key(guid, base, False) == (joined if joined != guid else None), guid
