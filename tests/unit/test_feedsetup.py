"""feedparser's shortcuts (monitor/ingest/feedsetup.py) give what feedparser gives.

The reference is feedparser without them, in a process of its own (the shortcuts are
set on feedparser's modules, once per process), with the same settings (sanitizer and
relative-URI resolution off, guids not resolved): every entry of feedparser's own test
corpus (tests/data/feedparser-corpus, ~2,000 documents) must come out the same, each
``*_parsed`` date being what :func:`monitor.ingest.datecheck.feedparser_date` reads from
its text.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest
from feedparser.urls import _urljoin
from feedparser.util import FeedParserDict
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.ingest.datecheck import feedparser_date
from monitor.ingest.dates import DeferredDate
from monitor.ingest.feedsetup import feedparser_module
from monitor.ingest.feedshortcuts import PLAIN_URL, _copy_params, identity_first, plain_first
from monitor.ingest.normalize import normalize_entries
from monitor.ingest.parse import parse_feed
from monitor.models import FeedRef

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CORPUS = Path(__file__).parent.parent / "data" / "feedparser-corpus"
BASE = "http://example.com/base/feed.xml"

# Prints, as JSON, every entry of every document named on stdin (one path a line) as
# feedparser reads it with our settings and none of our shortcuts.
REFERENCE = """
import json, sys, time
import feedparser
from feedparser.mixin import _FeedParserMixin
feedparser.RESOLVE_RELATIVE_URIS = False
feedparser.SANITIZE_HTML = False
_FeedParserMixin.can_be_relative_uri = _FeedParserMixin.can_be_relative_uri - {"id"}
out = {}
for path in sys.stdin.read().split("\\n"):
    if path:
        body = open(path, "rb").read()
        parsed = feedparser.parse(body, response_headers={"content-location": sys.argv[1]})
        out[path] = parsed.entries
def plain(value):
    return list(value) if isinstance(value, time.struct_time) else repr(value)
print(json.dumps(out, default=plain, sort_keys=True))
"""


def _documents() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".rdf"))


def _ours(documents: list[Path]) -> dict:
    """Our reading: feedparser with the shortcuts, ``*_parsed`` read from the text."""
    feedparser = feedparser_module()
    out = {}
    for path in documents:
        parsed = feedparser.parse(path.read_bytes(), response_headers={"content-location": BASE})
        for entry in parsed.entries:
            _read_dates(entry)
        out[str(path)] = parsed.entries
    return json.loads(json.dumps(out, default=_plain, sort_keys=True))


def _read_dates(found: dict) -> None:
    """Each deferred ``*_parsed`` of ``found`` and the dicts in it, read now."""
    for key, value in found.items():
        if isinstance(value, DeferredDate):
            found[key] = feedparser_date(value.text)
        elif isinstance(value, dict):
            _read_dates(value)


def _plain(value: object) -> object:
    return list(value) if isinstance(value, time.struct_time) else repr(value)


def test_the_corpus_reads_the_same_with_and_without_the_shortcuts():
    documents = _documents()
    assert len(documents) > 1500  # the corpus is there
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    reference = subprocess.run(
        [sys.executable, "-c", REFERENCE, BASE],
        input="\n".join(map(str, documents)),
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    theirs = json.loads(reference.stdout)
    ours = _ours(documents)
    assert sum(len(entries) for entries in theirs.values()) > 1000
    assert [p for p in theirs if theirs[p] != ours[p]] == []


def test_the_shortcuts_are_in_place():
    """Each shortcut took (a feedparser release without its target would leave it out,
    and this says so)."""
    import feedparser.mixin
    import feedparser.namespaces._base

    feedparser_module()
    assert feedparser.mixin._urljoin.__qualname__.startswith("plain_first")
    assert feedparser.mixin.copy is not copy
    assert FeedParserDict.get.plain_keys
    assert FeedParserDict.__delitem__.quiet_del
    assert len(feedparser.mixin._cp1252) == 0x100 and feedparser.mixin._cp1252[0x80] == "€"
    deferred = feedparser.namespaces._base._parse_date("Wed, 29 Jun 2016 15:07:41 GMT")
    assert deferred == DeferredDate("Wed, 29 Jun 2016 15:07:41 GMT")
    assert feedparser_date("Wed, 29 Jun 2016 15:07:41 GMT")[:6] == (2016, 6, 29, 15, 7, 41)


URL_CHARS = st.sampled_from(list("aZ09.-_~/?#;:@%&=+$,!*'() \t\\[]é") + ["..", "//", "./"])


@settings(max_examples=2000, deadline=None)
@given(
    scheme=st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "//", "http:"]),
    rest=st.lists(URL_CHARS, max_size=12).map("".join),
    base=st.sampled_from(
        [
            "",
            BASE,
            "https://example.org/a/b/",
            "ftp://x/y",
            "http://h/a?q",
            "ftp://]x",
            "http://a]/",
        ]
    ),
)
@example(scheme="http://", rest="x?", base=BASE)
@example(scheme="http://", rest="x/a;", base=BASE)
@example(scheme="http://", rest="x/a/../b", base=BASE)
@example(scheme="http://", rest="x#", base=BASE)
@example(scheme="http://", rest="example.com/a", base="ftp://]x")  # feedparser: ""
def test_a_plain_url_is_what_urljoin_gives(scheme, rest, base):
    uri = scheme + rest
    assert plain_first(_urljoin)(base, uri) == _urljoin(base, uri)
    if PLAIN_URL.match(uri) and "]" not in base:
        assert urljoin(base, uri) == uri


def test_a_links_url_takes_the_shortcut():
    calls: list[str] = []

    def join(base: str, uri: str) -> str:
        calls.append(uri)
        return _urljoin(base, uri)

    joined = plain_first(join)
    assert joined(BASE, "https://news.example/2018/06/12/pompeo-pyongyang.html?id=7") == (
        "https://news.example/2018/06/12/pompeo-pyongyang.html?id=7"
    )
    assert joined(BASE, "../story.html") == "http://example.com/story.html"
    assert calls == ["../story.html"]


def test_content_parameters_are_copied_as_deepcopy_would():
    deepcopy = _copy_params(FeedParserDict)
    params = FeedParserDict({"type": "text/html", "language": None, "base": BASE})
    copied = deepcopy(params)
    assert copied == copy.deepcopy(params) and type(copied) is FeedParserDict
    assert copied is not params
    copied["value"] = "x"
    assert "value" not in params
    nested = FeedParserDict({"type": "text/html", "list": ["a"]})
    deep = deepcopy(nested)
    assert deep == nested and deep["list"] is not nested["list"]  # not a plain copy


def test_feedparserdict_keeps_its_aliases_and_special_keys():
    feedparser_module()
    entry = FeedParserDict(
        summary="s",
        published="p",
        tags=[FeedParserDict(term="t")],
        links=[FeedParserDict(rel="enclosure", href="h"), FeedParserDict(rel="license", href="l")],
    )
    assert entry.get("summary") == entry.get("description") == entry["description"] == "s"
    assert entry.get("category") == "t" and "category" in entry
    assert entry.get("enclosures") == [{"href": "h"}] and entry.get("license") == "l"
    assert "updated" not in entry and entry.get("published") == "p"
    assert entry.get("missing", 5) == 5 and "missing" not in entry and "summary" in entry
    assert FeedParserDict().get("license") is None and "category" not in FeedParserDict()


def test_a_date_read_twice_at_two_depths_is_read_as_feedparser_pairs_it():
    """feedparser keeps the shallower element's text and the last one's reading; our
    date reader falls back on that reading when its day agrees with the text."""
    body = (
        b"<rss version='2.0'><channel><title>T</title><item><guid>g1</guid>"
        b"<pubDate>29.06.2016 gegen 15 Uhr</pubDate>"
        b"<foo><pubDate>2016-06-29T15:07:41Z</pubDate></foo></item></channel></rss>"
    )
    parsed = parse_feed(body, BASE)
    items, _ = normalize_entries(parsed, FeedRef(name="f", url=BASE), NOW)
    assert items[0].published == datetime(2016, 6, 29, 15, 7, 41, tzinfo=UTC)


def test_a_link_under_a_base_that_cannot_be_parsed_is_dropped_as_feedparser_drops_it():
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="ftp:"><title>T</title>'
        b'<entry xml:base="////]x"><title>a</title><link href="http://example.com/a"/>'
        b"</entry></feed>"
    )
    assert feedparser_module().parse(body).entries[0].get("link") in (None, "")


CP1252 = {0x80: "€", 0x85: "…", 0x92: "’", 0x93: "“", 0x9F: "Ÿ"}  # some of feedparser's


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x3FF)) | st.text())
@example("Caf\x92s \x93quoted\x94 \x80 5 and plain ASCII")
def test_the_identity_first_table_translates_as_feedparsers_own(text):
    import feedparser.mixin

    theirs = feedparser.mixin._cp1252
    if len(theirs) == 0x100:  # set up already: rebuild the table it was made from
        theirs = {k: v for k, v in theirs.items() if v != k}
    assert text.translate(identity_first(theirs)) == text.translate(theirs)
    assert text.translate(identity_first(CP1252)) == text.translate(CP1252)


def test_deleting_an_absent_mode_or_base64_is_quiet_and_any_other_key_is_not():
    feedparser_module()
    params = FeedParserDict({"type": "text/html", "mode": "escaped", "base64": 0})
    del params["mode"]
    del params["mode"]  # absent: what feedparser's try/except around it gives
    del params["base64"]
    del params["base64"]
    assert params == {"type": "text/html"}
    with pytest.raises(KeyError):
        del params["language"]
    del params["type"]
    assert params == {}
