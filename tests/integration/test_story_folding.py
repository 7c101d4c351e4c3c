"""Story folding never joins what the feed says is different (issue #13, points 3-5).

Feeds are served by a real HTTP server, the real CLI runs ``run --once`` in a
subprocess, and alerts are read back from a webhook receiver and an SMTP sink.
The rule these tests hold the pipeline to is in docs/dedup.md ("What each signal
proves").
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from tests.conftest import run_cli, write_config
from tests.integration.test_stories import FILLER, rss_item
from tests.servers import HttpServer, SmtpSink

# Verbatim copies of ../shared/fixtures/realworld/feeds/shared-link-poll{1,2}.xml.
ADVISORIES_1 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Advisories</title><link>https://example.org/advisories/</link><description>t</description>
<item><guid isPermaLink="false">ADV-1001</guid><title>ADV-1001: Printer firmware</title><link>https://example.org/advisories/upcoming/</link><description>A vulnerability in printer firmware was reported to the vendor.</description><pubDate>Tue, 10 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>
"""  # noqa: E501
ADVISORIES_2 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Advisories</title><link>https://example.org/advisories/</link><description>t</description>
<item><guid isPermaLink="false">ADV-1002</guid><title>ADV-1002: Storage array controller</title><link>https://example.org/advisories/upcoming/</link><description>A vulnerability in a storage array controller was reported to the vendor.</description><pubDate>Wed, 11 Nov 2026 09:00:00 GMT</pubDate></item>
<item><guid isPermaLink="false">ADV-1001</guid><title>ADV-1001: Printer firmware</title><link>https://example.org/advisories/upcoming/</link><description>A vulnerability in printer firmware was reported to the vendor.</description><pubDate>Tue, 10 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>
"""  # noqa: E501
BOILERPLATE = (
    "Acme Robotics builds industrial automation for customers in more than forty "
    "countries. Founded in 1952, the company employs 12,000 people worldwide. "
    "Media contact: press@acme.example"
)
SHARED_BODY = (
    "Diplomats from both countries met in the border village on Sunday to prepare "
    "another round of talks. " + FILLER
)
MARK = re.compile(r"<mark[^>]*>(.*?)</mark>", re.S)


def rss(*items: str) -> str:
    """An RSS 2.0 document holding ``items``."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        + "".join(items)
        + "</channel></rss>"
    )


def config(
    tmp_path: Path,
    http: HttpServer,
    feeds: list[str],
    rules: dict[str, str],
    smtp: SmtpSink | None = None,
    backfill: dict[str, int] | None = None,
) -> Path:
    """A config polling ``feeds`` (backfill all unless ``backfill`` says), alerting a
    webhook (and email)."""
    channels: dict = {"hook": {"type": "webhook", "url": http.url("/hook")}}
    if smtp is not None:
        channels["mail"] = {
            "type": "email",
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "starttls": False},
            "from": "alerts@example.org",
            "to": ["analyst@example.org"],
            "schedule": "cron: 0 7 * * *",
        }
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [
                {
                    "url": http.url(path),
                    "name": f"feed{n}",
                    "backfill": (backfill or {}).get(path, "all"),
                }
                for n, path in enumerate(feeds)
            ],
            "rules": [{"name": n, "query": q} for n, q in rules.items()],
            "channels": channels,
        },
    )


def run_once(path: Path, http: HttpServer) -> list[dict]:
    """One ``run --once`` pass in a subprocess; the webhook stories it sent."""
    before = len(http.requests_to("/hook"))
    result = run_cli("run", "--once", "--config", str(path), cwd=path.parent)
    assert result.returncode == 0, result.stderr
    return [s for r in http.requests_to("/hook")[before:] for s in json.loads(r.body)["items"]]


def guids(stories: list[dict]) -> list[str]:
    return sorted(s["guid"] for s in stories)


def test_advisories_sharing_one_generic_link_alert_one_by_one(tmp_path, http_server):
    http_server.route("/advisories.xml", ADVISORIES_1)
    path = config(tmp_path, http_server, ["/advisories.xml"], {"vuln": "vulnerability"})
    assert guids(run_once(path, http_server)) == ["ADV-1001"]
    http_server.route("/advisories.xml", ADVISORIES_2)
    assert guids(run_once(path, http_server)) == ["ADV-1002"]


def test_press_releases_with_one_boilerplate_paragraph_alert_each(tmp_path, http_server):
    releases = [
        rss_item(
            f"Acme opens plant number {n}", BOILERPLATE, f"pr-{n}", f"https://acme.example/{n}"
        )
        for n in range(1, 4)
    ]
    http_server.route("/press.xml", rss(releases[0], releases[1]))  # side by side
    path = config(tmp_path, http_server, ["/press.xml"], {"acme": "Acme"})
    assert guids(run_once(path, http_server)) == ["pr-1", "pr-2"]
    http_server.route("/press.xml", rss(releases[2]))  # alone: the others are gone
    assert guids(run_once(path, http_server)) == ["pr-3"]


def test_a_new_entry_beside_one_with_its_title_and_link_is_new(tmp_path, http_server):
    """Bulletins that share a title and a landing page; the older one is still listed
    (and unchanged, so the pipeline does not even parse it again)."""
    page = "https://agency.example/bulletins/"
    first = rss_item("Weekly bulletin", "Road closures on the " + FILLER, "b-1", page)
    second = rss_item("Weekly bulletin", "Port closures on the " + FILLER, "b-2", page)
    http_server.route("/bulletins.xml", rss(first))
    path = config(tmp_path, http_server, ["/bulletins.xml"], {"closures": "closures"})
    assert guids(run_once(path, http_server)) == ["b-1"]
    http_server.route("/bulletins.xml", rss(second, first))
    assert guids(run_once(path, http_server)) == ["b-2"]


def test_a_feed_reissuing_every_guid_and_link_alerts_each_story_once(tmp_path, http_server):
    """Google News style, with two stories listed side by side in every fetch."""
    titles = {"a": "Pompeo lands in Pyongyang - Outlet", "b": "Pyongyang hosts Pompeo - Other"}
    bodies = {"a": "Pompeo landed in Pyongyang. " + FILLER, "b": "Kim met Pompeo today. " + FILLER}
    path = config(tmp_path, http_server, ["/news.xml"], {"pp": "Pompeo AND Pyongyang"})
    sent = []
    for n in range(3):
        items = [
            rss_item(titles[s], bodies[s], f"tag:{s}{n}", f"https://news.example/{s}{n}?oc={n}")
            for s in "ab"
        ]
        http_server.route("/news.xml", rss(*items))
        sent += [story["title"] for story in run_once(path, http_server)]
    assert sorted(sent) == sorted(titles.values())


def marks(html: str) -> list[str]:
    """The text of every ``<mark>`` of an HTML email, tags removed."""
    return [unescape(re.sub(r"<[^>]+>", "", m)) for m in MARK.findall(html)]


def lead_then_copy(tmp_path, http_server, rules: dict[str, str], smtp_sink) -> tuple[dict, str]:
    """A story whose lead (feed0, polled first, backfill 0: matched but not alerted)
    does not name Pompeo; its copy (feed1, same text, another title) does. Returns the
    one webhook story and the HTML of the one email."""
    lead = rss_item("Diplomats talk of a new Pyongyang visit", SHARED_BODY, "lead-1")
    copy = rss_item("Pompeo may fly to Pyongyang again", SHARED_BODY, "copy-1")
    http_server.route("/lead.xml", rss(lead))
    http_server.route("/copy.xml", rss(copy))
    quiet = {"/lead.xml": 0}
    path = config(tmp_path, http_server, ["/lead.xml"], rules, smtp_sink, quiet)
    assert run_once(path, http_server) == []
    path = config(tmp_path, http_server, ["/lead.xml", "/copy.xml"], rules, smtp_sink, quiet)
    (story,) = run_once(path, http_server)
    (mail,) = smtp_sink.messages
    return story, mail.get_body(("html",)).get_content()


def test_a_story_matched_through_its_copy_shows_the_copy(tmp_path, http_server, smtp_sink):
    rules = {"pp": "Pompeo AND Pyongyang"}
    story, html = lead_then_copy(tmp_path, http_server, rules, smtp_sink)
    assert sorted(marks(html)) == ["Pompeo", "Pyongyang"]  # every mark a matched word
    assert story["guid"] == "copy-1" and story["rules"] == ["pp"]
    assert [d["guid"] for d in story["duplicates"]] == ["lead-1"]  # listed, not hidden
    assert "Also reported by" in html and "Diplomats talk of a new Pyongyang visit" in html


def test_every_mark_is_a_matched_word_when_the_copy_carries_both_rules(
    tmp_path, http_server, smtp_sink
):
    """The lead matched one rule while backfill held it back (so it was stored slim,
    issue #18), the copy both: the copy is shown with its own text and highlights, the
    lead listed under it. Highlights moved onto another item's words (a lead shown for
    a rule only a copy matched) are tested in tests/unit/test_dedup_rules.py."""
    rules = {"pp": "Pompeo AND Pyongyang", "village": '"border village"'}
    story, html = lead_then_copy(tmp_path, http_server, rules, smtp_sink)
    assert story["guid"] == "copy-1" and sorted(story["rules"]) == ["pp", "village"]
    assert [d["guid"] for d in story["duplicates"]] == ["lead-1"]
    found = marks(html)
    assert found and {m.casefold() for m in found} <= {"pompeo", "pyongyang", "border village"}
    assert {"Pompeo", "Pyongyang"} <= set(found)
