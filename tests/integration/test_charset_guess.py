"""A document that declares UTF-8 but is not: windows-1252 unless the detector is
sure (operator review, defect B; the rule is ``_detect`` in monitor/ingest/charset.py).

WHATWG Encoding: windows-1252 is the fallback of browsers in Western locales.
charset-normalizer's pick among the Latin code pages on a short text is a coin toss
(it read ``naïve``, byte 0xEF, as windows-1250's ``naďve``); on enough text in a
language windows-1252 cannot write, or in another script, its guess stands.
"""

from __future__ import annotations

import json

import pytest

from monitor.ingest.charset import decode_document
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

DECLARED_UTF8 = "application/rss+xml; charset=utf-8"
POLISH = (
    "Rząd przyjął w środę projekt ustawy budżetowej na przyszły rok. Minister finansów "
    "zapowiedział, że deficyt będzie niższy niż w tym roku."
)
RUSSIAN = "Новости дня: погода в столице и области сегодня, завтра ожидается дождь и ветер"


def rss(title: str, summary: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News'
        f"</title><item><title>{title}</title><guid>x1</guid><description>{summary}"
        "</description></item></channel></rss>"
    )


@pytest.mark.parametrize(
    ("title", "summary", "encoding"),
    [
        ("A naïve plan", "A naïve plan", "cp1252"),  # the review's case: 2 bytes of evidence
        ("Café crème", "The naïve façade of Zürich’s élite, señor", "cp1252"),
        ("Die Reform", "Größere Änderungen für Ärzte würden erst später folgen", "cp1252"),
        ("Budżet", "Rząd przyjął w środę projekt ustawy budżetowej na przyszły rok.", "cp1250"),
        ("Budżet państwa", POLISH, "cp1250"),
        ("Погода", RUSSIAN, "cp1251"),
        ("Καιρός", "Η κυβέρνηση ανακοίνωσε την Τετάρτη νέα μέτρα για την οικονομία.", "cp1253"),
    ],
)
def test_a_mislabelled_document_is_read_in_its_real_encoding(title, summary, encoding):
    body = rss(title, summary).encode(encoding)
    found = decode_document(body, DECLARED_UTF8)
    assert (found.encoding, title in found.text, summary in found.text) == (encoding, True, True)
    assert found.note and "not UTF-8" in found.note
    undeclared = body.replace(b' encoding="utf-8"', b"")  # no declaration at all: the same
    assert decode_document(undeclared, "application/rss+xml").encoding == encoding


@pytest.mark.parametrize(
    ("title", "summary", "encoding"),
    [("A naïve plan", "A naïve plan", "cp1252"), ("Budżet państwa", POLISH, "cp1250")],
)
def test_fetch_over_http_shows_the_text_as_written(tmp_path, http_server, title, summary, encoding):
    http_server.route(
        "/feed.xml",
        rss(title, summary).encode(encoding),
        headers={"Content-Type": DECLARED_UTF8},
    )
    fetched = run_cli("fetch", http_server.url("/feed.xml"), "--json", cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    (item,) = [json.loads(line) for line in fetched.stdout.splitlines() if line.strip()]
    assert (item["title"], item["summary"]) == (title, summary)
    assert "naďve" not in fetched.stdout
