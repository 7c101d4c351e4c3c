"""Render digests with Jinja2: subject line, plain text and HTML.

Templates run in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined`` and see only plain values (dicts, lists, strings), built by
:func:`digest_view`. A user's ``templates_dir`` is searched before the built-in
``monitor/templates``; if a user template fails, the error is logged and the
built-in template is used, so a bad template never stops alerts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from monitor.models import Digest, Highlight, Item, Story

log = logging.getLogger("monitor.notify")

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"
SUBJECT_TEMPLATE = "subject.txt.j2"
TEXT_TEMPLATE = "digest.txt.j2"
HTML_TEMPLATE = "digest.html.j2"
TEMPLATES = (SUBJECT_TEMPLATE, TEXT_TEMPLATE, HTML_TEMPLATE)

SUBJECT_MAX = 200
SNIPPET_CHARS = 300
TITLE_MAX = 500
DUPLICATES_SHOWN = 20
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def highlight_segments(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(segment, is_match)`` pieces; overlapping spans merge."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments: list[tuple[str, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            segments.append((text[pos:start], False))
        segments.append((text[start:end], True))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (control characters become spaces), at most ``limit`` chars."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _segment_dicts(segments: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Collapse whitespace inside segments and drop empty ones."""
    out = [{"text": _SPACE.sub(" ", text), "match": hit} for text, hit in segments]
    if out:
        out[0]["text"] = out[0]["text"].lstrip()
        out[-1]["text"] = out[-1]["text"].rstrip()
    return [s for s in out if s["text"]]


def _snippet(item: Item, highlights: Sequence[Highlight]) -> list[dict[str, Any]]:
    """About SNIPPET_CHARS of summary (else content) around the first highlight."""
    fields = item.fields()
    name = next(
        (f for f in ("summary", "content") if any(h.field == f for h in highlights)),
        "summary" if item.summary.strip() else "content",
    )
    text = fields[name]
    spans = sorted((h.start, h.end) for h in highlights if h.field == name)
    if not text.strip():
        return []
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET_CHARS // 3)
    if start > 0:
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start + SNIPPET_CHARS // 2, end)
        end = space if space != -1 else end
    window = [(s - start, e - start) for s, e in spans if e > start and s < end]
    segments = _segment_dicts(highlight_segments(text[start:end], window))
    if start > 0:
        segments.insert(0, {"text": "…", "match": False})
    if end < len(text):
        segments.append({"text": "…", "match": False})
    return segments


def utc_iso(value: datetime | None) -> str | None:
    """``value`` in UTC as ``2018-08-15T11:41:00Z`` (naive means UTC); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: datetime | None) -> str | None:
    iso = utc_iso(value)
    return None if iso is None else iso[:16].replace("T", " ") + " UTC"


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links reach templates (no ``javascript:``)."""
    if url and re.match(r"(?i)https?://[^\s]+$", url.strip()):
        return url.strip()
    return None


def story_view(story: Story, rule: str | None = None) -> dict[str, Any]:
    """The plain values a template sees for one story (under ``rule`` if given)."""
    matches = [m for m in story.matches if rule is None or m.rule == rule] or story.matches
    highlights = [h for m in matches for h in m.highlights]
    item = story.item
    title = item.title or item.link or "(untitled)"
    title_spans = [(h.start, h.end) for h in highlights if h.field == "title"]
    duplicates = [
        {
            "title": one_line(d.title, TITLE_MAX),
            "url": _safe_url(d.url),
            "feed": {"name": one_line(d.feed.name, 200), "url": d.feed.url},
        }
        for d in story.duplicates
    ]
    snippet = _snippet(item, highlights)
    return {
        "id": story.id,
        "title": one_line(title, TITLE_MAX),
        "title_segments": _segment_dicts(highlight_segments(title[:TITLE_MAX], title_spans)),
        "url": _safe_url(item.link),
        "feed": {"name": one_line(item.feed.name, 200), "url": item.feed.url},
        "published": _time(item.published),
        "author": one_line(item.author or "", 200),
        "rules": list(story.rules),
        "terms": list(dict.fromkeys(t for m in matches for t in m.terms)),
        "snippet": "".join(s["text"] for s in snippet),
        "snippet_segments": snippet,
        "duplicates": duplicates[:DUPLICATES_SHOWN],
        "more_duplicates": max(0, len(duplicates) - DUPLICATES_SHOWN),
    }


def newest_first(stories: Sequence[Story]) -> list[Story]:
    """Stories by publication time, newest first; undated ones last, in arrival order."""
    oldest = datetime.min.replace(tzinfo=UTC)

    def when(story: Story) -> datetime:
        published = story.item.published
        if published is None:
            return oldest
        return published if published.tzinfo else published.replace(tzinfo=UTC)

    return sorted(stories, key=when, reverse=True)


def groups_of(digest: Digest) -> list[tuple[str, list[Story]]]:
    """The digest's stories grouped by rule (first-seen rule order), newest first in each."""
    return [(rule, newest_first(stories)) for rule, stories in digest.by_rule()]


def digest_view(digest: Digest, prefix: str = "") -> dict[str, Any]:
    """The template context: ``digest``, ``groups``, ``stories``, ``prefix``.

    ``digest.more`` is how many stories did not fit (``max_items``) and wait for the
    next message.
    """
    groups = groups_of(digest)
    return {
        "prefix": prefix,
        "digest": {
            "id": digest.id,
            "channel": digest.channel,
            "created_at": _time(digest.created_at),
            "story_count": len(digest.stories),
            "rules": [rule for rule, _ in groups],
            "more": int(getattr(digest, "held_back", 0)),
        },
        "groups": [
            {"rule": rule, "stories": [story_view(s, rule) for s in stories]}
            for rule, stories in groups
        ],
        "stories": [story_view(s) for s in newest_first(digest.stories)],
    }


def _autoescape(name: str | None) -> bool:
    return bool(name) and (name.endswith((".html", ".htm")) or ".html." in name)


def _environment(loader: jinja2.BaseLoader) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class Renderer:
    """Renders digests from the user's templates, falling back to the built-in ones."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.templates_dir = Path(templates_dir) if templates_dir else None
        builtin = jinja2.FileSystemLoader(str(BUILTIN_DIR))
        self._builtin = _environment(builtin)
        self._user: SandboxedEnvironment | None = None
        if self.templates_dir is not None:
            user = jinja2.FileSystemLoader(str(self.templates_dir))
            self._user = _environment(jinja2.ChoiceLoader([user, builtin]))

    def _render(self, name: str, context: dict[str, Any]) -> str:
        user_file = self.templates_dir / name if self.templates_dir else None
        if self._user is not None and user_file is not None and user_file.is_file():
            try:
                return self._user.get_template(name).render(context)
            except Exception as exc:  # any failure of a user template: fall back
                log.error(
                    "template %s failed (%s: %s); using the built-in one",
                    user_file,
                    type(exc).__name__,
                    one_line(str(exc), 300),
                )
        return self._builtin.get_template(name).render(context)

    def subject(self, digest: Digest, prefix: str = "") -> str:
        """The subject line: one line, no CR/LF, at most ~200 characters."""
        return one_line(self._render(SUBJECT_TEMPLATE, digest_view(digest, prefix)), SUBJECT_MAX)

    def text(self, digest: Digest) -> str:
        """The plain-text digest (console, email text part)."""
        return self._render(TEXT_TEMPLATE, digest_view(digest))

    def html(self, digest: Digest) -> str:
        """The HTML digest (email HTML part): inline CSS, matched terms highlighted."""
        return self._render(HTML_TEMPLATE, digest_view(digest))

    def check(self) -> list[str]:
        """Compile every template (user and built-in); ``"FILE:LINE:COL: error"`` strings.

        The user's copies of the known templates are also rendered against a sample
        digest, so a misspelt variable is reported here rather than at send time.
        """
        problems: list[str] = []
        envs = [(BUILTIN_DIR, self._builtin)]
        if self._user is not None and self.templates_dir is not None:
            if not self.templates_dir.is_dir():
                return [f"{self.templates_dir}:1:1: templates_dir is not a directory"]
            envs.insert(0, (self.templates_dir, self._user))
        for directory, env in envs:
            for path in sorted(p for p in directory.iterdir() if p.suffix == ".j2"):
                problem = _check_one(env, path, directory is self.templates_dir)
                if problem:
                    problems.append(problem)
        return problems


def _check_one(env: SandboxedEnvironment, path: Path, render: bool) -> str | None:
    """Compile (and for user templates, trial-render) one template file."""
    try:
        template = env.get_template(path.name)
    except jinja2.TemplateSyntaxError as exc:
        return f"{path}:{exc.lineno or 1}:1: {exc.message}"
    except (OSError, UnicodeDecodeError, jinja2.TemplateError) as exc:
        return f"{path}:1:1: {type(exc).__name__}: {one_line(str(exc), 300)}"
    if render and path.name in TEMPLATES:
        try:
            template.render(digest_view(sample_digest(), "[news-monitor]"))
        except Exception as exc:
            line = _template_line(exc, path)
            return f"{path}:{line}:1: {type(exc).__name__}: {one_line(str(exc), 300)}"
    return None


def _template_line(exc: BaseException, path: Path) -> int:
    """The last line of ``path`` in the traceback of ``exc`` (Jinja rewrites frames)."""
    line, tb = 1, exc.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def sample_digest() -> Digest:
    """A small, realistic digest for ``check``, ``preview`` and ``send-test``."""
    from monitor.models import Duplicate, FeedRef, Match

    feed = FeedRef("JoongAng Daily", "https://koreajoongangdaily.joins.com/rss/news.xml")
    title = "Pompeo may be returning to Pyongyang"
    summary = (
        "U.S. Secretary of State Mike Pompeo may visit Pyongyang again"
        " to discuss an end-of-war declaration."
    )
    item = Item(
        feed=feed,
        id="sample-1",
        title=title,
        link="https://koreajoongangdaily.joins.com/news/sample",
        guid="sample-1",
        summary=summary,
        published=datetime(2018, 8, 15, 11, 41, tzinfo=UTC),
    )
    highlights = tuple(
        Highlight(field, text.find(word), text.find(word) + len(word), word.lower())
        for field, text in (("title", title), ("summary", summary))
        for word in ("Pompeo", "Pyongyang")
    )
    match = Match("pompeo-pyongyang", ("pompeo", "pyongyang"), highlights)
    dup = Duplicate("yna-1", "Pompeo could visit N. Korea again", None, FeedRef("Yonhap", ""))
    story = Story("sample-story-1", item, (match,), (dup,))
    return Digest("sample-digest", "sample", datetime(2026, 11, 27, 8, 0, tzinfo=UTC), (story,))
