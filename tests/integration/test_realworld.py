"""Issues #12 and #13: real-world feed faults, through every path a user has.

``tests/data/realworld/cases.yaml`` (copied from the shared fixtures, with its feeds)
says what news-monitor must give for small feeds that show faults users of other feed
tools reported. Each text case (encoding, text that is not markup, entities, invisible
characters, dates, links) is checked through all three paths:

- ``news-monitor fetch SOURCE --json`` in a subprocess, the feed served by a real HTTP
  server on 127.0.0.1 (``application/rss+xml`` / ``application/atom+xml``, no charset
  parameter) and read from its file path;
- ``news-monitor test-rule QUERY SOURCE --json`` for each query of the case;
- ``news-monitor run --once`` with every text case as a feed (``backfill: all``), a
  broad rule plus the cases' queries as rules, and email (a real SMTP server), Slack
  and webhook channels (the HTTP server) and the console.

Then issue #12 point 7 (a URL answering 200 with something that is not a feed: an
HTML page advertising none, plain text, a billion-laughs document) and the identity
cases of issue #13 (three items sharing one guid; bare-number guids and a 301).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape as html_escape
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DATA, run_cli, write_config
from tests.servers import HttpServer, SmtpSink

pytestmark = pytest.mark.integration

REALWORLD = DATA / "realworld"
NOT_A_FEED = REALWORLD / "not-a-feed"
CASES: list[dict[str, Any]] = yaml.safe_load((REALWORLD / "cases.yaml").read_text())["cases"]
TEXT_KINDS = {
    "encoding",
    "text is not markup",
    "entities",
    "invisible characters",
    "dates",
    "links",
}
TEXT_CASES = [case for case in CASES if case["kind"] in TEXT_KINDS]
# cases.yaml: published "2016-06-29T15:07:41Z or null, never any other date".
SLASH_DATE_OK = {"2016-06-29T15:07:41Z", "2016-06-29T15:07:41+00:00", None}
# A rule made only of a negation matches every item (docs/rules.md).
EVERYTHING = "NOT zzqxnevermatcheszzqx"
HOOK = "/hook"
SLACK = "/slack/T000/B000/XXXX"
TRACEBACK = "Traceback (most recent call last)"


# --- the cases ---------------------------------------------------------------------


def case_name(case: dict[str, Any]) -> str:
    """The case's feed file name without ``.xml`` (also its feed name in configs)."""
    return Path(case["file"]).stem


def case_path(case: dict[str, Any]) -> Path:
    """The case's feed file in tests/data/realworld/."""
    return REALWORLD / case["file"]


def case_queries(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's ``{q, matches}`` queries (``query`` or ``queries``)."""
    expect = case["expect"]
    return list(expect.get("queries") or ([expect["query"]] if "query" in expect else []))


def case_ids(case: dict[str, Any]) -> set[str]:
    """Every item id the case names (its ``item`` and the ids its queries match)."""
    ids = {q_id for query in case_queries(case) for q_id in query["matches"]}
    return ids | ({case["expect"]["item"]} if "item" in case["expect"] else set())


def rule_name(case: dict[str, Any], index: int) -> str:
    """The name of the daemon rule that runs query ``index`` of ``case``."""
    return f"{case_name(case)}-q{index}"


def long_link() -> str:
    """The ``<link>`` of long-link.xml as the XML means it (entities decoded)."""
    link = ET.parse(REALWORLD / "feeds" / "long-link.xml").find("channel/item/link")
    assert link is not None and link.text
    return link.text


def feed_content_type(path: Path) -> str:
    """``application/atom+xml`` for an Atom document, else ``application/rss+xml``."""
    return "application/atom+xml" if b"<feed" in path.read_bytes()[:400] else "application/rss+xml"


def serve_case(server: HttpServer, case: dict[str, Any]) -> str:
    """Serve the case's feed with a feed Content-Type and no charset; return its URL."""
    path = case_path(case)
    route = f"/feeds/{path.name}"
    server.route(route, path.read_bytes(), headers={"Content-Type": feed_content_type(path)})
    return server.url(route)


QUERY_CASES = [
    pytest.param(case, index, query, id=f"{case_name(case)}-{query['q']}")
    for case in TEXT_CASES
    for index, query in enumerate(case_queries(case))
]
CASE_PARAMS = [pytest.param(case, id=case_name(case)) for case in TEXT_CASES]


# --- output helpers ----------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    """One JSON object per non-empty line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def one_spaced(text: str) -> str:
    """``text`` with every run of whitespace as one space (wrapped lines joined)."""
    return " ".join(text.split())


def slack_escape(text: str) -> str:
    """Text as Slack requires it in mrkdwn: ``&``, ``<`` and ``>`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_texts(payloads: list[dict[str, Any]]) -> str:
    """Every text of every Slack payload (fallback, sections, contexts), one per line."""
    texts = []
    for payload in payloads:
        texts.append(payload.get("text", ""))
        for block in payload.get("blocks", []):
            if isinstance(block.get("text"), dict):
                texts.append(block["text"].get("text", ""))
            texts += [element.get("text", "") for element in block.get("elements", [])]
    return "\n".join(texts)


def mail_parts(messages: list[EmailMessage]) -> tuple[str, str]:
    """The plain-text parts and the HTML parts of ``messages``, each joined."""
    texts = [m.get_body(("plain",)).get_content() for m in messages]
    htmls = [m.get_body(("html",)).get_content() for m in messages]
    return "\n".join(texts), "\n".join(htmls)


def html_shown_text(html: str) -> str:
    """What a mail client shows of ``html``: tags removed, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


def find_item(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    """The item whose ``key`` is ``value``; fails naming the values there are."""
    found = [item for item in items if item.get(key) == value]
    assert found, f"no item with {key} {value!r}; {key}s: {[i.get(key) for i in items]}"
    return found[0]


def base_config(
    tmp_path: Path, feeds: list[dict[str, Any]], rules: list[dict[str, Any]], channels: dict
) -> Path:
    """A config in ``tmp_path`` with its own state dir and 127.0.0.1 allowed."""
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": feeds,
            "rules": rules,
            "channels": channels,
        },
    )


def run_once(config: Path, cwd: Path) -> Any:
    """``news-monitor run --once``; asserts it exits 0 without a traceback."""
    result = run_cli("run", "--once", "--config", str(config), cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    assert TRACEBACK not in result.stderr, result.stderr
    return result


def hook_items(http: HttpServer, since: int = 0) -> list[dict[str, Any]]:
    """The items of every webhook body received, from the ``since``-th POST on."""
    return [
        item
        for request in http.requests_to(HOOK)[since:]
        for item in json.loads(request.body)["items"]
    ]


def test_every_case_of_cases_yaml_is_covered():
    """A new kind of case in cases.yaml must get tests, not be skipped silently."""
    assert len(TEXT_CASES) == 7
    identity = sorted(str(c["file"]) for c in CASES if c["kind"] == "identity")
    assert identity == [
        "['feeds/bare-guid-poll1.xml', 'feeds/bare-guid-poll2-after-301.xml']",
        "['feeds/shared-link-poll1.xml', 'feeds/shared-link-poll2.xml']",  # another test file
        "feeds/shared-guid.xml",
    ]
    assert {c["kind"] for c in CASES} == TEXT_KINDS | {"identity", "schedules"}


# --- fetch -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feeds_server() -> Iterator[HttpServer]:
    """One HTTP server on 127.0.0.1 serving every text case's feed."""
    with HttpServer() as server:
        for case in TEXT_CASES:
            serve_case(server, case)
        yield server


def item_problems(
    items: list[dict[str, Any]], case: dict[str, Any], id_key: str, link_key: str
) -> list[str]:
    """How ``items`` (fetch or webhook JSON) differ from what the case expects.

    Every difference is listed, so one failure names all of them: the case's ids
    missing, then the expected item's text, date and link. When the expected id is
    missing but the feed has one item, that item's text is still compared.
    """
    expect = case["expect"]
    listed = [item.get(id_key) for item in items]
    problems = []
    missing = sorted(case_ids(case) - set(listed))
    if missing:
        problems.append(f"{id_key} {missing} not among {listed}")
    if "item" not in expect:
        return problems
    found = [item for item in items if item.get(id_key) == expect["item"]]
    item = found[0] if found else items[0] if len(items) == 1 else None
    if item is None:
        return problems
    for key in ("title", "summary"):
        if key in expect and item.get(key) != expect[key]:
            problems.append(f"{key} {item.get(key)!r} != {expect[key]!r}")
    if "published" in expect and item.get("published") not in SLASH_DATE_OK:
        problems.append(f"published {item.get('published')!r}: not 2016-06-29T15:07:41Z or null")
    if "link_length" in expect and item.get(link_key) != long_link():
        link = item.get(link_key) or ""
        problems.append(f"{link_key} of {len(link)} characters, not the feed's whole link")
    return problems


def assert_fetched(result: Any, case: dict[str, Any]) -> None:
    """``fetch --json`` exited 0 and printed the case's item (id and guid) as expected."""
    assert result.returncode == 0, result.stderr
    items = json_lines(result.stdout)
    problems = item_problems(items, case, "id", "link")
    if "item" in case["expect"]:
        guids = [item["guid"] for item in items]
        if case["expect"]["item"] not in guids:
            problems.append(f"guid {case['expect']['item']!r} not among {guids}")
    assert not problems, problems


@pytest.mark.parametrize("via", ["http", "file"])
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_fetch_gives_the_expected_item(tmp_path, feeds_server, case, via):
    source = serve_case(feeds_server, case) if via == "http" else str(case_path(case))
    result = run_cli("fetch", source, "--json", cwd=tmp_path)
    assert_fetched(result, case)


def test_fetch_of_the_cp1251_feed_with_a_charset_header(tmp_path, feeds_server):
    """The encoding case again, with the HTTP charset the server could have sent."""
    (case,) = [c for c in TEXT_CASES if c["kind"] == "encoding"]
    feeds_server.route(
        "/charset/cp1251.xml",
        case_path(case).read_bytes(),
        headers={"Content-Type": "application/rss+xml; charset=windows-1251"},
    )
    result = run_cli("fetch", feeds_server.url("/charset/cp1251.xml"), "--json", cwd=tmp_path)
    assert_fetched(result, case)


# --- test-rule ---------------------------------------------------------------------


@pytest.mark.parametrize("case,index,query", QUERY_CASES)
def test_test_rule_matches_exactly_the_expected_items(tmp_path, feeds_server, case, index, query):
    url = serve_case(feeds_server, case)
    result = run_cli("test-rule", query["q"], url, "--json", cwd=tmp_path)
    records = json_lines(result.stdout)
    listed = {record["id"] for record in records}
    assert case_ids(case) <= listed, f"ids listed: {sorted(listed)}"
    assert sorted(r["id"] for r in records if r["matched"]) == sorted(query["matches"])
    assert result.returncode == (0 if query["matches"] else 1), result.stderr


# --- the daemon, every text case in one run ----------------------------------------


@dataclass
class Delivered:
    """What one ``run --once`` over every text case delivered, per channel."""

    hook: list[dict[str, Any]]
    slack: list[dict[str, Any]]
    mails: list[EmailMessage]
    console: str
    log: str

    def feed_items(self, case: dict[str, Any]) -> list[dict[str, Any]]:
        """The webhook items of the case's feed."""
        return [item for item in self.hook if item["feed"]["name"] == case_name(case)]


@pytest.fixture(scope="module")
def delivered(tmp_path_factory) -> Iterator[Delivered]:
    """``run --once`` with every text case as a feed and email, Slack, webhook, console."""
    tmp_path = tmp_path_factory.mktemp("realworld-daemon")
    with HttpServer() as http, SmtpSink() as smtp:
        feeds = [
            {"url": serve_case(http, case), "name": case_name(case), "backfill": "all"}
            for case in TEXT_CASES
        ]
        rules = [{"name": "everything", "query": EVERYTHING}] + [
            {"name": rule_name(case, i), "query": query["q"], "feeds": [case_name(case)]}
            for case in TEXT_CASES
            for i, query in enumerate(case_queries(case))
        ]
        channels = {
            "console": {"type": "console"},
            "mail": {
                "type": "email",
                "smtp": {"host": "127.0.0.1", "port": smtp.port, "starttls": False},
                "from": "alerts@example.org",
                "to": ["analyst@example.org"],
            },
            "slack": {"type": "slack", "webhook_url": http.url(SLACK)},
            "archive": {"type": "webhook", "url": http.url(HOOK)},
        }
        config = base_config(tmp_path, feeds, rules, channels)
        result = run_once(config, tmp_path)
        smtp.wait_for_messages(1)
        yield Delivered(
            hook=hook_items(http),
            slack=[json.loads(r.body) for r in http.requests_to(SLACK)],
            mails=list(smtp.messages),
            console=result.stdout,
            log=result.stderr,
        )


def test_daemon_delivers_on_every_channel(delivered):
    assert delivered.hook and delivered.slack and delivered.mails and delivered.console
    assert "internal error" not in delivered.log.lower()


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_webhook_carries_the_exact_text_date_and_link(delivered, case):
    items = delivered.feed_items(case)
    assert items, f"no alert from {case_name(case)}"
    problems = item_problems(items, case, "guid", "url")
    assert not problems, problems


@pytest.mark.parametrize("case,index,query", QUERY_CASES)
def test_daemon_rule_alerts_exactly_the_expected_items(delivered, case, index, query):
    items = delivered.feed_items(case)
    assert case_ids(case) <= {item["guid"] for item in items}
    matched = [item["guid"] for item in items if rule_name(case, index) in item["rules"]]
    assert sorted(matched) == sorted(query["matches"])


TEXT_SHOWN = [
    pytest.param(case, id=case_name(case))
    for case in TEXT_CASES
    if {"title", "summary"} & set(case["expect"])
]


@pytest.mark.parametrize("case", TEXT_SHOWN)
def test_email_shows_the_text_as_text(delivered, case):
    text, html = mail_parts(delivered.mails)
    shown = one_spaced(html_shown_text(html))
    for key in ("title", "summary"):
        if key in case["expect"]:
            expected = one_spaced(case["expect"][key])
            assert expected in one_spaced(text), f"{key} not in the text part"
            assert expected in shown, f"{key} not shown by the HTML part"
    if "email_html_shows" in case["expect"]:
        assert case["expect"]["email_html_shows"] in html
        tags = re.findall(r"</?\s*([a-zA-Z][\w-]*)", html)
        assert "button" not in {tag.lower() for tag in tags}  # never a raw <button> tag


@pytest.mark.parametrize("case", TEXT_SHOWN)
def test_slack_escapes_the_text(delivered, case):
    texts = slack_texts(delivered.slack)
    for key in ("title", "summary"):
        if key in case["expect"]:
            assert slack_escape(one_spaced(case["expect"][key])) in texts, key
    if "email_html_shows" in case["expect"]:  # the case whose text names a tag
        assert "&lt;button&gt;" in texts and "<button" not in texts


def test_long_link_reaches_every_channel_whole(delivered):
    link = long_link()
    assert len(link) == 617
    (case,) = [c for c in TEXT_CASES if "link_length" in c["expect"]]
    item = find_item(delivered.feed_items(case), "guid", case["expect"]["item"])
    text, html = mail_parts(delivered.mails)
    whole = {
        "webhook": item["url"] == link,
        "email text": link in text.split(),
        "email HTML": f'href="{html_escape(link)}"' in html,
        "slack": f"<{link.replace('&', '&amp;')}|" in slack_texts(delivered.slack),
        "console": link in delivered.console.split(),
    }
    assert [channel for channel, ok in whole.items() if not ok] == []


def test_email_never_shows_another_date_for_the_slash_date(delivered):
    (case,) = [c for c in TEXT_CASES if c["kind"] == "dates"]
    text, _ = mail_parts(delivered.mails)
    stories = re.split(r"\n\* ", text)
    blocks = [s for s in stories if s.startswith("Slash dated item")]
    assert blocks, "the slash-dated story is not in the email"
    for block in blocks:
        story = block.split("\n==", 1)[0]
        assert set(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", story)) <= {"2016-06-29 15:07"}
    item = find_item(delivered.feed_items(case), "guid", case["expect"]["item"])
    assert item["published"] in SLASH_DATE_OK


# --- issue #12 point 7: a URL that answers 200 with something that is not a feed ---

NOT_FEEDS = {
    "html-page": ("page.html", "text/html; charset=utf-8"),
    "plain-text": ("notes.txt", "text/plain; charset=utf-8"),
    "entity-bomb": ("billion-laughs.xml", "application/xml"),
}
EMPTY_FEED = ("empty-feed.xml", "application/rss+xml")


@dataclass
class StatusRuns:
    """``status`` and ``status --json`` after each of two ``run --once``."""

    urls: dict[str, str]
    human: list[str]
    reports: list[dict[str, Any]]

    def feed(self, run: int, name: str) -> dict[str, Any]:
        """The feed ``name`` in the JSON status after run ``run`` (0 or 1)."""
        return find_item(self.reports[run]["feeds"], "name", name)

    def human_feed(self, run: int, name: str) -> str:
        """The lines of feed ``name`` in the human status after run ``run``."""
        lines = self.human[run].split("\nRULES")[0].splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(f"  {name}: "))
        block = [lines[start]]
        block += [line for line in lines[start + 1 :] if line.startswith("    ")][:1]
        return "\n".join(block)


@pytest.fixture(scope="module")
def not_feed_server() -> Iterator[HttpServer]:
    """Serves each not-a-feed answer and the empty feed with a 200."""
    with HttpServer() as server:
        for name, (file, content_type) in {**NOT_FEEDS, "empty-feed": EMPTY_FEED}.items():
            server.route(
                f"/{name}", (NOT_A_FEED / file).read_bytes(), headers={"Content-Type": content_type}
            )
        yield server


@pytest.fixture(scope="module")
def status_runs(tmp_path_factory, not_feed_server) -> StatusRuns:
    """Two ``run --once`` over the not-a-feed URLs and the empty feed, status after each."""
    tmp_path = tmp_path_factory.mktemp("not-a-feed")
    names = [*NOT_FEEDS, "empty-feed"]
    urls = {name: not_feed_server.url(f"/{name}") for name in names}
    config = base_config(
        tmp_path,
        [{"url": urls[name], "name": name} for name in names],
        [{"name": "everything", "query": EVERYTHING}],
        {"console": {"type": "console"}},
    )
    human, reports = [], []
    for _ in range(2):
        run_once(config, tmp_path)
        shown = run_cli("status", "--config", str(config), cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        human.append(shown.stdout)
        report = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
        assert report.returncode == 0, report.stderr
        reports.append(json.loads(report.stdout))
    return StatusRuns(urls, human, reports)


@pytest.mark.parametrize("name", NOT_FEEDS)
def test_fetch_says_not_a_feed(tmp_path, not_feed_server, name):
    result = run_cli("fetch", not_feed_server.url(f"/{name}"), "--json", cwd=tmp_path)
    assert result.returncode != 0
    assert "not a feed" in result.stderr and TRACEBACK not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("name", NOT_FEEDS)
def test_status_shows_fetchs_words_and_counts_failures(tmp_path, status_runs, name):
    url = status_runs.urls[name]
    fetched = run_cli("fetch", url, cwd=tmp_path)
    assert f"{url}: not a feed" in fetched.stderr, fetched.stderr
    words = fetched.stderr.split(f"{url}: ", 1)[1].strip()  # "not a feed (...)"
    for run, failures in ((0, 1), (1, 2)):
        feed = status_runs.feed(run, name)
        assert feed["consecutive_failures"] == failures, feed
        assert words in (feed["last_error"] or ""), feed
        shown = status_runs.human_feed(run, name)
        assert f"FAILING x{failures}" in shown and words in shown, shown


def test_valid_feed_without_items_stays_ok(tmp_path, not_feed_server, status_runs):
    fetched = run_cli("fetch", not_feed_server.url("/empty-feed"), "--json", cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert json_lines(fetched.stdout) == []
    for run in (0, 1):
        feed = status_runs.feed(run, "empty-feed")
        assert feed["consecutive_failures"] == 0 and feed["last_error"] is None, feed
        assert feed["last_success"]
        shown = status_runs.human_feed(run, "empty-feed")
        assert shown.startswith("  empty-feed: ok;"), shown


# --- issue #13: identity -----------------------------------------------------------


def hook_config(tmp_path: Path, http: HttpServer, url: str) -> Path:
    """One feed at ``url`` (``backfill: all``), a broad rule, a webhook channel."""
    return base_config(
        tmp_path,
        [{"url": url, "name": "feed", "backfill": "all"}],
        [{"name": "everything", "query": EVERYTHING}],
        {"archive": {"type": "webhook", "url": http.url(HOOK)}},
    )


def serve_file(http: HttpServer, path: str, name: str) -> str:
    """Serve tests/data/realworld/feeds/``name`` as RSS at ``path``; return its URL."""
    body = (REALWORLD / "feeds" / name).read_bytes()
    http.route(path, body, headers={"Content-Type": "application/rss+xml"})
    return http.url(path)


def test_items_sharing_one_guid_alert_once_each(tmp_path, http_server):
    (case,) = [c for c in CASES if c["file"] == "feeds/shared-guid.xml"]
    url = serve_file(http_server, "/releases.xml", "shared-guid.xml")
    config = hook_config(tmp_path, http_server, url)
    run_once(config, tmp_path)
    titles = [item["title"] for item in hook_items(http_server)]
    assert sorted(titles) == sorted(case["expect"]["alerts_with_backfill_all"])
    posts = len(http_server.requests_to(HOOK))
    run_once(config, tmp_path)
    assert hook_items(http_server, since=posts) == []  # second poll: no alert


def test_bare_number_guids_stay_as_written_and_no_link_is_invented(tmp_path, http_server):
    url = serve_file(http_server, "/ci/builds.xml", "bare-guid-poll1.xml")
    run_once(hook_config(tmp_path, http_server, url), tmp_path)
    items = hook_items(http_server)
    assert sorted(item["guid"] for item in items) == sorted(["72122", "72121"])
    for item in items:
        assert item.get("url") is None, item
        assert item.get("link") is None, item


def test_fetch_keeps_bare_number_guids_and_invents_no_link(tmp_path, http_server):
    url = serve_file(http_server, "/ci/builds.xml", "bare-guid-poll1.xml")
    result = run_cli("fetch", url, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = json_lines(result.stdout)
    assert sorted(item["guid"] for item in items) == sorted(["72122", "72121"])
    assert [item["link"] for item in items] == [None, None]


def test_after_a_301_only_the_new_build_alerts(tmp_path, http_server):
    old = serve_file(http_server, "/ci/builds.xml", "bare-guid-poll1.xml")
    config = hook_config(tmp_path, http_server, old)
    run_once(config, tmp_path)
    posts = len(http_server.requests_to(HOOK))
    # the feed moves to another folder: the old URL answers 301 from now on
    serve_file(http_server, "/moved/status/builds.xml", "bare-guid-poll2-after-301.xml")
    http_server.route(
        "/ci/builds.xml", b"", status=301, headers={"Location": "/moved/status/builds.xml"}
    )
    run_once(config, tmp_path)
    assert http_server.requests_to("/moved/status/builds.xml"), "the 301 was not followed"
    items = hook_items(http_server, since=posts)
    assert [item["guid"] for item in items] == ["72123"]
    assert items[0]["title"] == "Build 72123 passed" and items[0].get("url") is None
