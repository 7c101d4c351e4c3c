"""The cheaper paths of issue 18 (CPU) give what the plain ones gave.

Each test holds a short cut to the result of the straightforward code it replaced:
text tidied only where it needs it, feedparser's base URL joins remembered, a poll's
items matched in slices rather than one match-thread call each.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import MonitorConfig
from monitor.ingest.htmltext import _tidy
from monitor.ingest.parse import parse_feed
from monitor.matching import prepare, prepare_items, prepare_slice
from monitor.models import FeedRef, Item
from monitor.rules.index import RuleSet
from monitor.runtime import build_runtime

URL = "http://127.0.0.1:1/feeds/f.xml"
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def tidy_every_time(text: str, limit: int | None) -> str:
    """``_tidy`` as it was: every substitution on every text."""
    text = _SPACES.sub(" ", _CONTROLS.sub("", text))
    text = _NEWLINES.sub("\n", text).strip()
    text = "\n\n".join(line.strip() for line in text.split("\n") if line.strip())
    return text[:limit] if limit is not None else text


SPACEY = st.text(
    alphabet=st.sampled_from(list("ab \t\r\n\f\v\u00a0\x1c\x1f\x85\u2028\u3000\x00\x9f.")),
    max_size=60,
)


@settings(max_examples=600, deadline=None)
@given(SPACEY | st.text(max_size=40), st.none() | st.integers(min_value=0, max_value=30))
def test_tidy_gives_what_every_substitution_gave(text, limit):
    assert _tidy(text, limit) == tidy_every_time(text, limit)


def test_relative_links_resolve_against_each_xml_base_as_before():
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.org/news/">
<title>t</title>
<entry xml:base="2026/"><id>urn:a</id><title>a</title><link href="a.html"/></entry>
<entry><id>urn:b</id><title>b</title><link href="b.html"/></entry>
<entry xml:base="http://other.example/x/"><id>urn:c</id><title>c</title>
  <link href="../c.html"/></entry>
<entry xml:base="javascript:alert(1)//"><id>urn:d</id><title>d</title><link href="d.html"/></entry>
<entry><id>urn:e</id><title>e</title><link href="e.html"/></entry>
</feed>"""
    for _ in range(2):  # the second parse answers from the remembered joins
        links = [e["link"] for e in parse_feed(body, URL, "application/atom+xml").entries]
        assert links == [
            "http://example.org/news/2026/a.html",
            "http://example.org/news/b.html",
            "http://other.example/c.html",
            "http://example.org/news/d.html",
            "http://example.org/news/e.html",
        ]


class CountingThread(ThreadPoolExecutor):
    """The match thread, counting the calls it was given."""

    calls = 0

    def submit(self, *args, **kwargs):
        self.calls += 1
        return super().submit(*args, **kwargs)


def news(n: int) -> Item:
    text = f"Pompeo may return to Pyongyang for talks, report {n} says, " * 6
    feed = FeedRef("f", "http://127.0.0.1:1/f.xml")
    return Item(feed, f"g{n}", f"Talks {n}", f"http://news.example/{n}", None, text, "", None)


def test_a_poll_of_items_is_matched_in_slices_with_the_same_results(tmp_path, monkeypatch):
    monkeypatch.setattr("monitor.matching.SLICE_SECONDS", 3600.0)  # no slice ends early
    config = MonitorConfig.model_validate(
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": "http://127.0.0.1:1/f.xml", "name": "f"}],
            "rules": [{"name": "talks", "query": "Pompeo AND talks"}, {"name": "x", "query": "x"}],
            "channels": {"out": {"type": "console"}},
        }
    )
    items = {f"k{n}": news(n) for n in range(300)}
    quiet = {"k3", "k4"}

    async def go():
        rt = build_runtime(config)
        rt.match_thread = thread = CountingThread(1)
        try:
            digest = prepare(rt.rules, {"talks"}, items["k2"], None, True).digest
            stored = {"k1": "not its digest", "k2": digest}
            got = await prepare_items(rt, {"talks"}, items, stored, baseline=quiet)
            return rt.rules, stored, got, thread.calls
        finally:
            await rt.aclose()

    rules, stored, got, calls = asyncio.run(go())
    assert calls == 1  # was one per item: 300
    assert list(got) == list(items)
    for key, item in items.items():
        assert got[key] == prepare(
            rules, {"talks"}, item, stored.get(key), key not in stored, key in quiet
        )
    assert not got["k2"].changed and got["k3"].matches[0].terms == ()


def test_a_slice_holds_at_least_one_item_and_stops_when_its_time_is_up():
    rules = RuleSet([("talks", "Pompeo AND talks")])
    todo = [(f"k{n}", news(n), None, True, False) for n in range(5)]
    assert len(prepare_slice(rules, {"talks"}, todo, 0, 0.0)) == 1
    assert len(prepare_slice(rules, {"talks"}, todo, 4, 0.0)) == 1
    assert len(prepare_slice(rules, {"talks"}, todo, 2, 60.0)) == 3
