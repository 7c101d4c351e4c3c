"""The per-feed decision on a legacy charset label (monitor/ingest/mislabel.py) and the
readings it gives (monitor/ingest/charset.py, monitor/ingest/parse.py)."""

from __future__ import annotations

import codecs

import pytest

from monitor.ingest.charset import decode_document
from monitor.ingest.mislabel import (
    DECLARED,
    LABEL,
    MIN_DISTINCT,
    UTF8,
    decide_reading,
    utf8_evidence,
)
from monitor.ingest.parse import parse_feed

URL = "http://127.0.0.1:1/feed.xml"
LATIN1 = '<?xml version="1.0" encoding="iso-8859-1"?>'
RICH = ["Café in Zürich — “talks”", "Pompeo’s visit"]  # é ü — “ ” ’: 6 distinct
# News-like sentences as written in each language, for the code page its sites used.
LEGACY = {
    "cp1252": [
        "Le président a présenté un projet de loi sur l'économie.",
        "Die Bundesregierung prüft die Vorschläge für mehr Klimaschutz.",
        "El Gobierno aprobó ayer una reforma de las pensiones en España.",
        "LA CRÉATION D'EMPLOIS A RALENTI EN FÉVRIER",
        "NESTLÉ® rappelle des desserts",
    ],
    "cp1250": ["Rząd przyjął projekt ustawy o podatkach.", "Vláda schválila nový rozpočet."],
    "cp1251": ["Правительство одобрило новый бюджет.", "Уряд ухвалив зміни до закону."],
    "cp1253": ["Η κυβέρνηση ενέκρινε τον προϋπολογισμό."],
}


def rss(*titles: str, head: str = "") -> str:
    items = "".join(
        f"<item><guid>g{n}</guid><title>{t}</title></item>" for n, t in enumerate(titles)
    )
    return f'{head}<rss version="2.0"><channel><title>c</title>{items}</channel></rss>'


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (LATIN1, None),
        ('<?xml version="1.0" encoding="windows-1252"?>', "application/xml"),
        ("", "application/rss+xml; charset=ISO-8859-1"),
        ("", "text/xml; charset=latin1"),  # WHATWG: windows-1252
        ("", "text/xml; charset=us-ascii"),  # WHATWG: windows-1252
        ("", "text/xml; charset=iso-8859-2"),
        ('<?xml version="1.0" encoding="utf-8"?>', "text/xml; charset=iso-8859-1"),  # HTTP wins
    ],
)
def test_utf8_bytes_under_a_single_byte_legacy_label_are_decided_utf8(head, content_type):
    assert decide_reading(rss(*RICH, head=head).encode(), content_type) == UTF8


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (rss("Café Zürich", head=LATIN1).encode(), None, "2 distinct: could be chance"),
        (rss("Plain news", head=LATIN1).encode(), None, "ASCII: no evidence"),
        (rss("NESTLÉ®", head=LATIN1).encode("cp1252"), None, "legacy pairs up: C9 AE"),
        (rss(*RICH, head=LATIN1).encode(), "text/xml; charset=utf-8", "HTTP says UTF-8"),
        (rss(*RICH).encode(), None, "nothing declared: guessed UTF-8 anyway"),
        (codecs.BOM_UTF8 + rss(*RICH, head=LATIN1).encode(), None, "a BOM decides"),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "Café “x”"}'.encode(),
            "application/feed+json; charset=iso-8859-1",
            "JSON Feed: UTF-8 by its spec",
        ),
    ]
    + [
        (rss(*RICH).encode(), f"application/xml; charset={label}", f"{label}: not legacy")
        for label in ("utf-16", "shift_jis", "euc-kr", "gb2312", "big5", "koi8-r", "macroman")
    ],
)
def test_read_by_its_label_without_a_legacy_label_or_without_enough_evidence(
    body, content_type, why
):
    assert decide_reading(body, content_type) == LABEL, why


@pytest.mark.parametrize("encoding", sorted(LEGACY))
def test_genuine_legacy_documents_are_decided_as_declared(encoding):
    """Genuine legacy text breaks UTF-8 (a letter above 0x7F before an ASCII byte), so
    its feed is decided as declared, and never read as UTF-8 by chance."""
    head = f'<?xml version="1.0" encoding="{encoding}"?>'
    body = rss(*LEGACY[encoding], head=head).encode(encoding)
    assert decide_reading(body, None) == DECLARED
    for title in LEGACY[encoding]:  # each sentence alone, as a first body of one item
        assert decide_reading(rss(title, head=head).encode(encoding), None) != UTF8, title


def test_evidence_counts_distinct_multibyte_characters_of_strict_utf8_only():
    assert utf8_evidence("é é é ü".encode()) == 2  # repeated characters count once
    assert utf8_evidence("é ü “ ” ’ —".encode()) == MIN_DISTINCT  # counted up to enough
    assert utf8_evidence(b"ascii") == 0
    assert utf8_evidence("é ü ” and one bad byte".encode() + b"\xff") == 0


def test_a_decided_feed_reads_utf8_whatever_the_body_and_counts_bad_bytes():
    """Decided, the reading never depends on the body at hand: a later body with one
    invalid byte is still UTF-8 (one U+FFFD, said in the note), not read as declared."""
    body = rss("Café", head=LATIN1).encode() + b"<!-- \xe9 -->"
    found = decode_document(body, None, legacy_as_utf8=True)
    assert (found.encoding, found.overruled) == ("utf-8", "cp1252 (XML declaration)")
    assert "Café" in found.text and found.text.count("\ufffd") == 1
    assert found.note == "read as UTF-8: 1 invalid byte replaced with U+FFFD"
    assert decode_document(body, None).encoding == "cp1252"  # undecided: as declared
    sjis = decode_document(body, "text/xml; charset=shift_jis", legacy_as_utf8=True)
    assert sjis.encoding == "shift_jis" and sjis.overruled is None  # never overruled


def test_a_decided_feed_keeps_each_field_as_decoded():
    """feedparser reads a field again as UTF-8 when its text is all ISO-8859-1 and those
    bytes are UTF-8: a genuine ``NESTLÉ®`` became ``NESTLɮ``. A feed never decided keeps
    that (its stored ids were made so); a decided one does not."""
    body = rss("NESTLÉ®", head='<?xml version="1.0" encoding="windows-1252"?>').encode("cp1252")
    (undecided,) = parse_feed(body, URL).entries
    (declared,) = parse_feed(body, URL, reading=DECLARED).entries
    assert (undecided["title"][0], declared["title"][0]) == ("NESTLɮ", "NESTLÉ®")
    utf8 = rss("NESTLÉ® “x”", head=LATIN1).encode()
    parsed = parse_feed(utf8, URL, reading=UTF8)
    assert parsed.entries[0]["title"][0] == "NESTLÉ® “x”"
    assert parsed.label_note and parsed.label_note.startswith(
        "declared cp1252 (XML declaration), read as UTF-8"
    )
    assert parse_feed(body, URL, reading=DECLARED).label_note is None
