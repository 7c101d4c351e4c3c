"""A story's view is built once per delivery (subject, text, HTML; the size check and
the send; the binary search over the count of stories), each render gets its own
copy, and a story's remembered view goes with the story."""

from __future__ import annotations

import gc
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.config import MonitorConfig
from monitor.models import Digest, Duplicate, FeedRef, Highlight, Item, Match, Story
from monitor.notify import highlights, views
from monitor.notify.email import SMTP_POLICY, build_message
from monitor.notify.limits import first, measure_for, shortened, stories_that_fit
from monitor.notify.render import Renderer
from monitor.notify.views import digest_view, marks_term, story_view

WORDS = ("pompeo", "pyongyang", "seoul", "summit", "talks", "missile", "sanctions")
FEED = FeedRef("JoongAng Daily", "https://koreajoongangdaily.joins.com/rss/news.xml")


def news(n: int) -> Story:
    """A story whose summary marks every one of its words, under two rules."""
    words = [WORDS[(n * 3 + k) % len(WORDS)] for k in range(60)]
    summary = " ".join(words)
    spans, at = [], 0
    for word in words[:20]:
        spans.append(Highlight("summary", at, at + len(word), word))
        at += len(word) + 1
    item = Item(FEED, f"i{n}", f"Talks {n} in Seoul", f"https://example.org/{n}", None, summary)
    item = Item(**{**item.__dict__, "published": datetime(2018, 8, 15, n % 24, tzinfo=UTC)})
    matches = (Match("every", WORDS, tuple(spans)), Match("seoul", ("seoul",), ()))
    dups = tuple(Duplicate(f"d{n}{k}", f"Copy {k}", None, FeedRef(f"o{k}", "")) for k in range(2))
    return Story(f"s{n}", item, matches, dups)


def digest(count: int) -> Digest:
    stories = tuple(news(n) for n in range(count))
    return Digest("digest-1", "mail", datetime(2026, 11, 30, 7, tzinfo=UTC), stories)


@contextmanager
def calls_of(*names: str) -> Iterator[Counter[str]]:
    """How often functions of these names in notify/views.py, highlights.py are entered."""
    counts: Counter[str] = Counter()
    paths = {views.__file__, highlights.__file__}

    def profile(frame: Any, event: str, _arg: object) -> None:
        code = frame.f_code
        if event == "call" and code.co_name in names and code.co_filename in paths:
            counts[code.co_name] += 1

    sys.setprofile(profile)
    try:
        yield counts
    finally:
        sys.setprofile(None)


def channel(**extra: object) -> Any:
    config = MonitorConfig.model_validate(
        {
            "state_dir": "/nonexistent",
            "feeds": [{"url": "https://example.org/f.xml", "name": "f"}],
            "rules": [{"name": "every", "query": "pompeo", "notify": ["mail"]}],
            "channels": {
                "mail": {
                    "type": "email",
                    "smtp": {"host": "127.0.0.1", "port": 25, "starttls": False},
                    "from": "monitor@example.org",
                    "to": ["me@example.org"],
                    **extra,
                }
            },
        }
    )
    return config.channels["mail"]


def deliver(message: Digest, settings: Any, renderer: Renderer) -> bytes:
    """What delivery.py does with a digest: fit it to the bound, then build it."""
    measure = measure_for(settings, renderer)
    keep = stories_that_fit(message, measure, settings.max_message_bytes)
    fitted = shortened(first(message, keep), measure, settings.max_message_bytes)
    return build_message(fitted, settings, renderer).as_bytes(policy=SMTP_POLICY)


def test_one_delivery_builds_each_story_view_once():
    message = digest(40)
    with calls_of("_story_view", "_marks") as counts:
        deliver(message, channel(), Renderer())
    # a view a story under each of its 2 rules and one of all its matches; before: each
    # of them in 6 digest views (subject, text, HTML; the size check, then the send)
    assert counts["_story_view"] == 3 * len(message.stories)
    assert counts["_marks"] <= len(WORDS)  # the (word, term) pairs, each analysed once


def test_the_binary_search_for_what_fits_reuses_the_views():
    message = digest(40)
    settings = channel(max_message_bytes=40_000, timezone="Asia/Seoul")
    with calls_of("_story_view") as counts:
        sent = deliver(message, settings, Renderer())
    assert 40_000 // 2 < len(sent) <= 40_000  # some stories fit, not all
    assert counts["_story_view"] == 3 * len(message.stories)  # before: 3 a story each render


def walk(value: Any) -> Iterator[Any]:
    if isinstance(value, dict | list):
        yield value
        for inner in value.values() if isinstance(value, dict) else value:
            yield from walk(inner)


def test_every_view_is_a_copy_sharing_no_dict_or_list():
    story = news(3)
    one, two = story_view(story, "every"), story_view(story)
    assert one == two == views._story_view(story, None, "UTC")
    shared = {id(v) for v in walk(one)} & {id(v) for v in walk(two)}
    assert not shared
    assert len(list(walk(one))) > 40  # segments, duplicates, feed …


def test_a_template_changing_its_view_does_not_change_the_next_render(tmp_path: Path):
    changing = tmp_path / "changing"
    changing.mkdir()
    (changing / "subject.txt.j2").write_text(
        "{% for s in stories %}{{ s.rules.append('x') or '' }}"
        "{{ s.snippet_segments.clear() or '' }}{{ s.feed.update(name='?') or '' }}"
        "{% endfor %}{{ digest.story_count }} stories"
    )
    message = digest(5)
    plain = Renderer().text(message)
    renderer = Renderer(changing)
    assert renderer.subject(message) == "5 stories"
    assert renderer.text(message) == plain  # digest.txt.j2 is the built-in one


def test_a_remembered_view_goes_with_its_story():
    story = news(4)
    key = id(story)
    digest_view(Digest("d", "mail", datetime(2026, 11, 30, tzinfo=UTC), (story,)))
    assert any(k[0] == key for k in views._VIEWS)
    del story
    gc.collect()
    assert not any(k[0] == key for k in views._VIEWS)


def test_marks_term_remembers_and_answers_as_before():
    check: Callable[[str, str], bool] = marks_term
    assert check("Pyongyang", "pyongyang") and check("Pyongyang", "pyongyang")
    assert check("talks", "talk") is check("talks", "talk")
    assert not check("Seoul", "pyongyang")


def test_the_size_check_and_the_send_build_one_email():
    from monitor.notify import email

    message, settings, renderer = digest(10), channel(), Renderer()
    with calls_of("digest_view") as counts:
        size = measure_for(settings, renderer)(message)
        sent = build_message(message, settings, renderer).as_bytes(policy=SMTP_POLICY)
    assert size == len(sent)
    assert counts["digest_view"] == 3  # subject, text, HTML; before: 6
    assert email._LAST
    del message
    gc.collect()
    assert not email._LAST  # the message went with its digest
