"""Plain HTML is read by one pattern (htmltext._plain_text) exactly as HTMLParser reads it.

The fast path answers only for fragments of text and tags of common elements; every
answer it gives must be the one :class:`_TextExtractor` (the stdlib's HTMLParser)
gives, so a fault in either shows here, for the whole kind of input.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.ingest.htmltext import _plain_text, _TextExtractor, html_to_text


def _parsed(fragment: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    return "".join(extractor.parts)


NAMES = ["p", "P", "br", "Br", "div", "li", "a", "b", "em", "img", "span", "td", "hr"]
NAMES += ["script", "style", "title", "textarea", "xmp", "svg", "custom", "h1", "ul"]
VALUES = ['"x"', "'y'", '"a>b"', "'q\"r'", "plain", "x/", '"&amp;"', "a=b", '""']
ATTRIBUTES = st.builds(
    lambda space, name, value: f"{space}{name}{value}",
    st.sampled_from([" ", "  ", "\n", "\t", "\r", "\f", "\v", "\xa0", "\u3000", "\x1c", "\x85"]),
    st.sampled_from(["href", "class", "data-x", "src", "title", "a:b"]),
    st.sampled_from([""] + [f"={v}" for v in VALUES] + [" = " + v for v in VALUES]),
)
TAGS = st.builds(
    lambda slash, name, attributes, end: f"<{slash}{name}{''.join(attributes)}{end}>",
    st.sampled_from(["", "", "/"]),
    st.sampled_from(NAMES),
    st.lists(ATTRIBUTES, max_size=2),
    st.sampled_from(["", "", "/", " /", " ", "\xa0", "\v/", "\r"]),
)
TEXT = st.sampled_from(
    ["word", " ", "two words", "\n", "&amp;", "&lt;b&gt;", "&#39;", "&#x41;", "&nbsp;"]
    + ["&", "&bogus;", "&amp", "a > b", "<", "< b", "<!-- c -->", "<![CDATA[x]]>", "é", "\t"]
)
FRAGMENTS = st.lists(st.one_of(TAGS, TEXT), max_size=12).map("".join)


@settings(max_examples=3000, deadline=None)
@given(FRAGMENTS)
@example("<p>agency war visit</p>")
@example('<P CLASS="x">a &amp; b<br/>c</P>')
@example('<a href="x>y">l</a> t')
@example("<br clear=all/>x")
@example("<p>x&amp</p>")
@example("a<br\xa0>b")  # HTMLParser: a tag named "br\xa0", no line break
@example("a<p\x0b>b")
@example("a<div\u3000class='x'>b</div>")
@example("a</p\x0b>b")
@example("<br x=y\xa0/>")
def test_plain_html_reads_as_htmlparser_reads_it(fragment):
    fast = _plain_text(fragment)
    if fast is not None:
        assert fast == _parsed(fragment)


@given(st.lists(st.one_of(TEXT, TAGS), max_size=12).map("".join))
def test_html_to_text_is_the_same_with_or_without_the_fast_path(fragment):
    from monitor.ingest.htmltext import _tidy

    assert html_to_text(fragment) == _tidy(_parsed(fragment), None)


def test_plain_fragments_take_the_fast_path():
    """The common shapes of a feed's summary are read without HTMLParser."""
    for fragment in [
        "<p>agency war visit nuclear talks</p>",
        '<p>Pompeo &amp; Kim met in <a href="https://x.example/a?b=1&amp;c=2">Pyongyang</a>.</p>',
        "<div><img src='https://x.example/i.jpg' alt=\"\"/><br />Seoul &#8217;s plan</div>",
        "<UL><LI>one<LI>two</UL>",
    ]:
        assert _plain_text(fragment) == _parsed(fragment), fragment
    for fragment in ["<script>x</script>", "a < b", "<!-- c --><p>x</p>", "<video>x</video>"] + [
        "a<br\xa0>b",  # only HTML's white space ends a tag's name (HTML5, Python 3.13+)
        "a</p\x0b>b",
        "<br x=y\xa0/>",
    ]:
        assert _plain_text(fragment) is None, fragment
