"""Which fields feedparser may read again as UTF-8 (monitor/ingest/reread.py), and the
parses that use the rule (monitor/ingest/feedsetup.py ``fields_checked``)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ingest.mislabel import LABEL
from monitor.ingest.parse import parse_feed
from monitor.ingest.reread import UNLIKELY, plausible

URL = "http://127.0.0.1:1/feed.xml"


def twice(text: str) -> str:
    """``text`` encoded twice: its UTF-8 bytes read as ISO-8859-1."""
    return text.encode("utf-8").decode("latin-1")


@pytest.mark.parametrize(
    "genuine",
    [
        "NESTLÉ® recalls",  # C9 AE: ɮ (IPA)
        "È\u00a0morto Mario Rossi",  # C8 A0: Ƞ (Latin Extended-B, its rare end)
        "IDENTITÉ\u00a0: alerte",  # C9 A0: ɠ
        "TÊ© brand",  # CA A9: ʩ
        "CHLOË\u00a0: interview",  # CB A0: ˠ (modifier letter)
        "PIÑ® juice",  # D1 AE: Ѯ (archaic Cyrillic)
        "MÜ® GmbH",  # DC AE: Syriac
        "GROß° C",  # DF B0: NKo
        "Il est là\u00a0»",  # E0 A0 BB: Samaritan
        "Arrivé\u00a0»",  # E9 A0 BB: a CJK ideograph glued to "Arriv"
    ],
)
def test_genuine_text_that_pairs_up_as_utf8_is_not_read_again(genuine):
    assert genuine.encode("latin-1").decode("utf-8") != genuine  # feedparser would
    assert not plausible(genuine)


@pytest.mark.parametrize(
    "text",
    [
        "Café Zürich",
        "à la une",
        "Pompeo’s visit — “talks”",  # curly quotes: C1 bytes once encoded twice
        "Sécurité\u00a0: 3 °C",
        "Łódź, Šibenik, Žilina, İstanbul, ığ",  # Latin Extended-A
        "Hà Nội, Việt Nam, ươ",  # Vietnamese: Latin Extended-B and Additional
        "București, Ștefan",  # Romanian: Latin Extended-B
        "Αθήνα",
        "привет, Київ",
        "Երևան",
        "שלום",
        "القاهرة",
        "नई दिल्ली",
        "東京 2024年",
        "Oʻzbekiston",  # ʻ: a modifier letter Uzbek uses
        "ERRO: cabe\ufffdalho",  # U+FFFD encoded twice is ï¿½
    ],
)
def test_double_encoded_text_is_read_again(text):
    assert plausible(twice(text)), twice(text)


@pytest.mark.parametrize("text", ["plain ASCII", "Café", "2 × 3", "€ 5", "東京"])
def test_text_feedparser_cannot_read_again_is_left_to_it(text):
    assert plausible(text)  # nothing to refuse: ASCII, not UTF-8, or above U+00FF


def rss(title: str, description: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>1</guid><title>{title}</title><description>{description}</description>"
        "</item></channel></rss>"
    ).encode()


def atom(title: str, content: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>t</title><entry><id>urn:1</id><title type="html">{title}</title>'
        f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{content}</div>'
        "</content></entry></feed>"
    ).encode()


def test_a_parse_read_by_its_label_checks_each_field():
    """Each field is judged alone: the genuine title stays, the double-encoded
    description is repaired, in RSS and in Atom with XHTML content."""
    body = rss("NESTLÉ® recalls", twice("Café Zürich &amp; “talks”"))
    (entry,) = parse_feed(body, URL, reading=LABEL).entries
    assert entry["title"][0] == "NESTLÉ® recalls"
    assert "Café Zürich & “talks”" in entry["summary"][0]
    (unchecked,) = parse_feed(body, URL).entries  # a feed never decided: as before
    assert unchecked["title"][0] == "NESTLɮ recalls"
    body = atom("CAFÉ® &amp; more", f"<p>{twice('Ça va, Zürich')}</p>")
    (entry,) = parse_feed(body, URL, reading=LABEL).entries
    assert entry["title"][0] == "CAFÉ® & more"
    assert "Ça va, Zürich" in str(entry["content"])


def test_the_text_judged_is_the_text_feedparser_reads_again():
    """A document read loosely (ill-formed) hands feedparser each character reference
    as a piece of UTF-8 bytes: ``NESTL&#201;&#174;`` is judged ``NESTLÉ®`` and stays,
    as the same title written out does. Base64 content is judged decoded, so
    double-encoded text in it is still repaired and genuine text still kept."""
    loose = rss("NESTL&#201;&#174; and CAF&Eacute;&reg;", "<b>unclosed").replace(
        b"</channel>", b"<open></channel>"
    )
    parsed = parse_feed(loose, URL, reading=LABEL)
    assert parsed.loose
    assert parsed.entries[0]["title"][0] == "NESTLÉ® and CAFÉ®"
    assert parse_feed(loose, URL).entries[0]["title"][0] == "NESTLɮ and CAFɮ"  # as before
    for text, read in ((twice("Café Zürich"), "Café Zürich"), ("NESTLÉ®", "NESTLÉ®")):
        encoded = base64.b64encode(text.encode()).decode()
        body = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>t</title><entry><id>urn:1</id><title>t</title><content type="text/plain" '
            f'mode="base64">{encoded}</content></entry></feed>'
        ).encode()
        (entry,) = parse_feed(body, URL, reading=LABEL).entries
        assert entry["content"][0][0] == read


def refused_by_rule(again: str) -> bool:
    """The module docstring's rule on a re-read text, one character after another."""
    previous = ""
    for ch in again:
        point = ord(ch)
        if any(first <= point <= last for first, last in UNLIKELY):
            return True
        latin_or_symbol = 0x1E00 <= point <= 0x1EFF or 0x2000 <= point <= 0x2BFF
        glued = previous.isascii() and previous.isalpha()
        if point >= 0x800 and not latin_or_symbol and point != 0xFFFD and glued:
            return True
        previous = ch
    return False


EDGES = (
    [chr(p) for r in UNLIKELY for p in (r[0] - 1, r[0], r[1], r[1] + 1)]
    + [chr(p) for p in (0x7FF, 0x800, 0x1DFF, 0x1E00, 0x1EFF, 0x1F00, 0x1FFF, 0x2000)]
    + ["\u2bff", "\u2c00", "\ufffc", "\ufffd", "\ufffe", "\U0001f600"]
)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from("aZ 1:"),  # kept as they are
            st.sampled_from("«é\u00a0\x85"),  # genuine text
            st.sampled_from(EDGES).map(twice),
            st.characters(codec="utf-8").map(twice),
        )
    )
)
def test_the_searches_are_the_rule(pieces):
    """plausible's two searches (a field of megabytes is judged in C) refuse exactly
    what the rule, read character by character, refuses."""
    text = "".join(pieces)
    try:
        again = text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        assert plausible(text)
        return
    c1 = any("\x80" <= ch <= "\x9f" for ch in text)
    assert plausible(text) == (text.isascii() or c1 or not refused_by_rule(again))
