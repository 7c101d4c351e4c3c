"""Render digests with Jinja2: subject line, plain text and HTML.

Templates run in a :class:`~jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined`` and see only plain values (dicts, lists, strings), built by
:func:`monitor.notify.views.digest_view`. A user's ``templates_dir`` is searched before the built-in
``templates/`` (:func:`builtin_dir`); if a user template fails, the error is logged and the
built-in template is used, so a bad template never stops alerts. A user template
that runs past 2 s or 4 Mi characters counts as failed (:mod:`monitor.notify.sandbox`).

A renderer shows times in one time zone (:meth:`Renderer.in_zone`, the channel's);
templates get the ``localtime`` filter to format the datetimes of a view.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config.boundedfile import FileRejected
from monitor.models import Digest, Highlight, Item, Story
from monitor.notify.views import SUBJECT_MAX, digest_view, localtime, one_line

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger("monitor.notify")


def builtin_dir() -> Path:
    """Where the shipped templates are: ``monitor/templates`` in an installed package
    (``pyproject.toml`` maps the repository's ``templates/`` there), else ``templates/``
    at the top of the source tree this module runs from."""
    installed = resources.files("monitor").joinpath("templates")
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "templates"


BUILTIN_DIR = builtin_dir()
SUBJECT_TEMPLATE = "subject.txt.j2"
TEXT_TEMPLATE = "digest.txt.j2"
HTML_TEMPLATE = "digest.html.j2"
TEMPLATES = (SUBJECT_TEMPLATE, TEXT_TEMPLATE, HTML_TEMPLATE)
TEST_MARK = "[TEST]"


@dataclass(frozen=True)
class SendTestDigest(Digest):
    """A ``send-test`` digest: marked as a test wherever a channel can say so."""

    test: bool = field(default=True)


def _localtime_filter(
    context: jinja2.runtime.Context, value: datetime | None, fmt: str | None = None
) -> str:
    """``{{ story.published_time | localtime("%H:%M %Z") }}``, in the channel's zone."""
    return localtime(value, context.get("timezone") or "UTC", fmt)


def _autoescape(name: str | None) -> bool:
    return bool(name) and (name.endswith((".html", ".htm")) or ".html." in name)


def _environment(loader: jinja2.BaseLoader) -> SandboxedEnvironment:
    import jinja2

    from monitor.notify.sandbox import BoundedEnvironment

    env = BoundedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["localtime"] = jinja2.pass_context(_localtime_filter)
    return env


class _Environments:
    """The built-in templates' environment and, with a ``templates_dir``, the user's
    (their templates first, then the built-in ones). Jinja2 is loaded and templates
    compiled on first use, so a process that sends nothing never pays for them."""

    def __init__(self, templates_dir: Path | None) -> None:
        import jinja2

        from monitor.notify.sandbox import BoundedFileLoader

        builtin = jinja2.FileSystemLoader(str(BUILTIN_DIR))
        self.builtin = _environment(builtin)
        self.user: SandboxedEnvironment | None = None
        if templates_dir is not None:
            user = BoundedFileLoader(str(templates_dir))
            self.user = _environment(jinja2.ChoiceLoader([user, builtin]))


class Renderer:
    """Renders digests from the user's templates, falling back to the built-in ones.

    The Jinja2 environments are built at the first render or check and shared by the
    copies :meth:`in_zone` makes.
    """

    def __init__(self, templates_dir: Path | None = None, timezone: str = "UTC") -> None:
        self.templates_dir = Path(templates_dir) if templates_dir else None
        self.timezone = timezone
        self._shared: list[_Environments] = []  # one element once built (shared by copies)

    def _environments(self) -> _Environments:
        if not self._shared:
            self._shared.append(_Environments(self.templates_dir))
        return self._shared[0]

    @property
    def _builtin(self) -> SandboxedEnvironment:
        return self._environments().builtin

    @property
    def _user(self) -> SandboxedEnvironment | None:
        return self._environments().user

    @property
    def key(self) -> tuple[object, ...]:
        """Equal for renderers that render a digest alike: the same templates (the
        environments shared with :meth:`in_zone` copies) and the same time zone."""
        return (id(self._shared), self.templates_dir, self.timezone)

    def in_zone(self, timezone: str) -> Renderer:
        """This renderer (same templates) showing times in the IANA zone ``timezone``."""
        if timezone == self.timezone:
            return self
        other = copy.copy(self)
        other.timezone = timezone
        return other

    def _render(self, name: str, context: dict[str, Any]) -> str:
        from monitor.notify.sandbox import render_bounded

        user_file = self.templates_dir / name if self.templates_dir else None
        if self._user is not None and user_file is not None and user_file.is_file():
            try:
                return render_bounded(self._user.get_template(name), context)
            except Exception as exc:  # any failure of a user template: fall back
                log.error(
                    "template %s failed (%s: %s); using the built-in one",
                    user_file,
                    type(exc).__name__,
                    one_line(str(exc), 300),
                )
        return self._builtin.get_template(name).render(context)

    def subject(self, digest: Digest, prefix: str = "") -> str:
        """The subject line: one line, no CR/LF, at most ~200 characters.

        A ``send-test`` digest's subject starts with ``[TEST]``, whatever the template.
        """
        view = digest_view(digest, prefix, self.timezone)
        line = self._render(SUBJECT_TEMPLATE, view)
        if view["digest"]["test"]:
            line = f"{TEST_MARK} {line.strip()}"
        return one_line(line, SUBJECT_MAX)

    def text(self, digest: Digest) -> str:
        """The plain-text digest (console, email text part)."""
        return self._render(TEXT_TEMPLATE, digest_view(digest, "", self.timezone))

    def html(self, digest: Digest) -> str:
        """The HTML digest (email HTML part): inline CSS, matched terms highlighted."""
        return self._render(HTML_TEMPLATE, digest_view(digest, "", self.timezone))

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
    import jinja2

    from monitor.notify.sandbox import RenderLimitError, render_bounded

    try:
        template = env.get_template(path.name)
    except jinja2.TemplateSyntaxError as exc:
        return f"{path}:{exc.lineno or 1}:1: {exc.message}"
    except FileRejected as exc:
        return f"{path}:1:1: {exc}"
    except (OSError, UnicodeDecodeError, jinja2.TemplateError) as exc:
        return f"{path}:1:1: {type(exc).__name__}: {one_line(str(exc), 300)}"
    if render and path.name in TEMPLATES:
        try:
            render_bounded(template, digest_view(sample_digest(), "[news-monitor]"))
        except RenderLimitError as exc:
            return f"{path}:1:1: {exc}"
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
    """A small, realistic digest for ``check`` (trial renders of the user's templates):
    a full story, and a sparse one as feeds give (no date, link, summary or copies),
    so that a template that assumes a value every story has (``published_time``'s
    ``strftime``) fails in ``check``, not at the first dateless item."""
    from monitor.models import FeedRef, Match

    published = datetime(2018, 8, 15, 11, 41, tzinfo=UTC)
    story = _sample_story("sample-1", "sample-story-1", published)
    title = "Kim Yo-jong statement on Pompeo"
    feed = FeedRef("KCNA Watch", "https://kcnawatch.example/rss")
    bare = Item(feed=feed, id="sample-2", title=title)
    highlight = Highlight("title", title.find("Pompeo"), title.find("Pompeo") + 6, "pompeo")
    match = Match("pompeo-pyongyang", ("pompeo",), (highlight,))
    sparse = Story("sample-story-2", bare, (match,), ())
    sent = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    return Digest("sample-digest", "sample", sent, (story, sparse))


def send_test_digest(channel: str, now: datetime) -> SendTestDigest:
    """What ``send-test`` sends to ``channel``: the sample story, dated ``now`` (UTC).

    Its id is fresh each time (email ``Message-ID``, ``webhook-id``), so a receiver
    that drops repeated ids still shows every test.
    """
    fresh = uuid.uuid4().hex
    story = _sample_story(f"test-{fresh}", f"test-story-{fresh}", now)
    return SendTestDigest(f"test-{fresh}", channel, now, (story,))


def _sample_story(item_id: str, story_id: str, published: datetime) -> Story:
    from monitor.models import Duplicate, FeedRef, Match

    feed = FeedRef("JoongAng Daily", "https://koreajoongangdaily.joins.com/rss/news.xml")
    title = "Pompeo may be returning to Pyongyang"
    summary = (
        "U.S. Secretary of State Mike Pompeo may visit Pyongyang again"
        " to discuss an end-of-war declaration."
    )
    item = Item(
        feed=feed,
        id=item_id,
        title=title,
        link="https://koreajoongangdaily.joins.com/news/sample",
        guid=item_id,
        summary=summary,
        published=published,
    )
    highlights = tuple(
        Highlight(field, text.find(word), text.find(word) + len(word), word.lower())
        for field, text in (("title", title), ("summary", summary))
        for word in ("Pompeo", "Pyongyang")
    )
    match = Match("pompeo-pyongyang", ("pompeo", "pyongyang"), highlights)
    dup = Duplicate("yna-1", "Pompeo could visit N. Korea again", None, FeedRef("Yonhap", ""))
    return Story(story_id, item, (match,), (dup,))
