"""Rendering: built-in templates, escaping, highlighting, user overrides, check()."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import QuietHours
from monitor.models import Digest, Duplicate, FeedRef, Highlight, Item, Match, Story
from monitor.notify.render import Renderer
from monitor.notify.slack import build_messages
from monitor.notify.timing import in_quiet_hours
from monitor.notify.views import highlight_segments, newest_first, story_view
from monitor.store.outbox import MessageDigest

FEED = FeedRef("JoongAng Daily", "https://koreajoongangdaily.joins.com/rss/news.xml")
YONHAP = FeedRef("Yonhap", "https://en.yna.co.kr/rss")
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def spans(text: str, *words: str, field: str = "title") -> tuple[Highlight, ...]:
    """Highlights of each word's first occurrence in ``text``."""
    return tuple(Highlight(field, text.find(w), text.find(w) + len(w), w.lower()) for w in words)


def story(
    sid: str, title: str, rules: dict[str, tuple[str, ...]], summary: str = "", **kw: object
) -> Story:
    """A story whose title (and summary) highlight each rule's words."""
    item = Item(
        feed=FEED,
        id=sid,
        title=title,
        link=f"https://example.org/{sid}",
        guid=sid,
        summary=summary,
        published=datetime(2018, 8, 15, 11, 41, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )
    matches = tuple(
        Match(
            rule,
            tuple(w.lower() for w in words),
            spans(title, *words) + spans(summary, *words, field="summary"),
        )
        for rule, words in rules.items()
    )
    return Story(sid, item, matches)


def two_rule_digest() -> Digest:
    both = story(
        "s1",
        "Pompeo may be returning to Pyongyang",
        {"pompeo-pyongyang": ("Pompeo", "Pyongyang"), "end-of-war": ("declaration",)},
        summary="Talks on an end-of-war declaration. " * 3
        + "Pompeo will meet in Pyongyang. declaration",
    )
    both = Story(
        both.id, both.item, both.matches, (Duplicate("y1", "Pompeo to visit", None, YONHAP),)
    )
    other = story("s2", "Seoul pushes end-of-war declaration", {"end-of-war": ("declaration",)})
    return Digest("d-1", "analyst-email", datetime(2026, 11, 27, 8, 0, tzinfo=UTC), (both, other))


def test_highlight_segments_splits_and_merges() -> None:
    text = "Pompeo visits Pyongyang"
    assert highlight_segments(text, [(14, 23), (0, 6)]) == [
        ("Pompeo", True),
        (" visits ", False),
        ("Pyongyang", True),
    ]
    assert highlight_segments("abcdef", [(1, 3), (2, 4), (10, 12)]) == [
        ("a", False),
        ("bcd", True),
        ("ef", False),
    ]
    assert highlight_segments("abc", []) == [("abc", False)]
    assert highlight_segments("", [(0, 3)]) == []


def test_text_groups_by_rule_with_duplicates() -> None:
    text = Renderer().text(two_rule_digest())
    assert "== pompeo-pyongyang (1) ==" in text
    assert "== end-of-war (2) ==" in text
    assert text.count("Pompeo may be returning to Pyongyang") == 2
    assert "https://example.org/s1" in text
    assert "JoongAng Daily · 2018-08-15 11:41 UTC" in text
    assert "Matched: pompeo, pyongyang" in text
    assert "Also reported by: Yonhap (Pompeo to visit)" in text


def test_html_highlights_terms_in_title_and_snippet() -> None:
    html = Renderer().html(two_rule_digest())
    assert "<strong>Pompeo</strong></mark> may be returning to" in html
    assert "<strong>declaration</strong>" in html
    assert 'href="https://example.org/s2"' in html
    assert "Also reported by: Yonhap" in html


def test_html_escapes_feed_text() -> None:
    bad = story("x", "<script>alert(1)</script> Pompeo", {"r": ("Pompeo",)})
    html = Renderer().html(Digest("d", "c", datetime(2026, 1, 1, tzinfo=UTC), (bad,)))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_javascript_links_are_dropped() -> None:
    item = Item(feed=FEED, id="j", title="Click", link="javascript:alert(1)")
    view = story_view(Story("j", item, (Match("r", ("click",)),)))
    assert view["url"] is None


def test_snippet_is_bounded_and_centred_on_first_highlight() -> None:
    summary = "filler words " * 100 + "Pompeo arrived " + "more filler " * 100
    s = story("long", "Title", {"r": ("Pompeo",)}, summary=summary)
    view = story_view(s)
    assert len(view["snippet"]) <= 310
    assert view["snippet"].startswith("…") and view["snippet"].endswith("…")
    assert {"text": "Pompeo", "match": True} in view["snippet_segments"]


def test_subject_is_one_bounded_line() -> None:
    s = story("n", "Line one\r\nBcc: victim@example.org\nPompeo" + "x" * 500, {"r": ("Pompeo",)})
    subject = Renderer().subject(Digest("d", "c", datetime(2026, 1, 1, tzinfo=UTC), (s,)), "[nm]")
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("[nm] r: Line one Bcc:")
    assert len(subject) <= 200


def test_subject_counts_stories() -> None:
    subject = Renderer().subject(two_rule_digest())
    assert subject.startswith("2 stories (pompeo-pyongyang, end-of-war): Pompeo may")


def test_user_template_overrides_builtin(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "{% for g in groups %}{{ g.rule }}={{ g.stories|length }};{% endfor %}"
    )
    renderer = Renderer(tmp_path)
    assert renderer.text(two_rule_digest()) == "pompeo-pyongyang=1;end-of-war=2;"
    assert "<mark" in renderer.html(two_rule_digest())  # not overridden: built-in
    assert renderer.check() == []


def test_broken_user_template_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "digest.txt.j2").write_text("{{ digest.no_such_field }}")
    (tmp_path / "digest.html.j2").write_text("{{ ''.__class__.__mro__ }}")
    renderer = Renderer(tmp_path)
    with caplog.at_level(logging.ERROR, logger="monitor.notify"):
        text = renderer.text(two_rule_digest())
        html = renderer.html(two_rule_digest())
    assert "== end-of-war (2) ==" in text
    assert "<mark" in html
    assert "digest.txt.j2 failed" in caplog.text and "digest.html.j2 failed" in caplog.text
    problems = renderer.check()
    assert len(problems) == 2
    assert any("digest.txt.j2:1:1: UndefinedError" in p for p in problems)


def test_check_reports_syntax_error_with_line(tmp_path: Path) -> None:
    (tmp_path / "subject.txt.j2").write_text("ok\n{% if prefix %}\nno endif\n")
    problems = Renderer(tmp_path).check()
    assert len(problems) == 1
    path, line, col, message = problems[0].split(":", 3)
    assert path == str(tmp_path / "subject.txt.j2") and line.isdigit() and col == "1"
    assert "endif" in message or "end of template" in message


def test_builtin_templates_check_clean() -> None:
    assert Renderer().check() == []


def test_empty_digest_renders() -> None:
    empty = Digest("d", "c", datetime(2026, 1, 1, tzinfo=UTC))
    renderer = Renderer()
    assert "No new stories" in renderer.text(empty)
    assert "No new stories" in renderer.html(empty)
    assert renderer.subject(empty, "[nm]") == "[nm] no new stories"


def dated(sid: str, day: int | None) -> Story:
    """A story published on 2018-08-``day`` (None: undated)."""
    base = story(sid, f"Pompeo {sid}", {"r": ("Pompeo",)})
    when = datetime(2018, 8, day, tzinfo=UTC) if day else None
    return Story(base.id, replace(base.item, published=when), base.matches)


def test_stories_are_newest_first_in_each_group() -> None:
    digest = Digest("d", "c", NOW, (dated("a", 1), dated("b", None), dated("c", 9)))
    assert [s.id for s in newest_first(digest.stories)] == ["c", "a", "b"]
    text = Renderer().text(digest)
    assert text.index("Pompeo c") < text.index("Pompeo a") < text.index("Pompeo b")


def test_held_back_stories_are_announced_in_every_format() -> None:
    digest = MessageDigest("d", "c", NOW, (dated("a", 1),), held_back=4)
    renderer = Renderer()
    assert "… and 4 more stories, in the next message." in renderer.text(digest)
    assert "… and 4 more stories, in the next message." in renderer.html(digest)
    blocks = build_messages(digest, renderer)[-1]["blocks"]
    assert "and 4 more, in the next message" in blocks[-1]["text"]["text"]
    assert "more stories" not in Renderer().text(replace(digest, held_back=0))


def test_slack_bold_terms_keep_their_spaces() -> None:
    summary = "Secretary Mike Pompeo may visit Pyongyang soon."
    s = story("s", "Pompeo and Pyongyang", {"r": ("Pompeo", "Pyongyang")}, summary=summary)
    section = build_messages(Digest("d", "c", NOW, (s,)), Renderer())[0]["blocks"][2]
    assert ">Secretary Mike *Pompeo* may visit *Pyongyang* soon." in section["text"]["text"]


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [("13:00", False), ("13:30", True), ("21:59", True), ("22:00", False), ("06:00", False)],
)
def test_quiet_hours_span_midnight_in_the_channel_time_zone(utc: str, quiet: bool) -> None:
    hours = QuietHours(start="22:30", end="07:00")  # Asia/Seoul is UTC+9
    hour, minute = map(int, utc.split(":"))
    now = datetime(2026, 11, 27, hour, minute, tzinfo=UTC)
    assert in_quiet_hours(hours, "Asia/Seoul", now) is quiet


def test_quiet_hours_reject_bad_times() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        QuietHours(start="25:00", end="07:00")
