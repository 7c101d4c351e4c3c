"""One story, one alert: duplicates across outlets and items that churn (issue #5)."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import yaml

from monitor.config import load
from monitor.pipeline import run_once
from monitor.runtime import build_runtime
from monitor.store.outbox import Outbox
from tests.conftest import run_cli, seed_feed, serve_seed, write_config
from tests.integration.test_end_to_end import make_config

RULES = {"pp": "Pompeo AND Pyongyang"}
FILLER = (
    "Officials said the talks covered security cooperation, trade and humanitarian aid, "
    "and that further meetings were expected in the coming weeks after a review by both sides."
)


def test_scenario_4_same_story_from_two_outlets_is_one_alert(
    tmp_path, http_server, smtp_sink, expected
):
    scenario = expected["scenarios"][3]
    urls = serve_seed(http_server, *scenario["feeds"])
    config = make_config(tmp_path, http_server, smtp_sink, list(urls.values()), expected)
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    (hook,) = http_server.requests_to("/hook")
    (story,) = json.loads(hook.body)["items"]
    # the first copy to arrive starts the story (the feeds are polled concurrently)
    (duplicate,) = story["duplicates"]
    assert {story["guid"], duplicate["guid"]} == {"jad-3052260", "wire-88412"}
    for rule, stories in scenario["expect"].items():
        assert rule in story["rules"] and set(stories[0]["story"]) == {
            story["guid"],
            duplicate["guid"],
        }
    other = duplicate["feed"]["name"]
    assert other in ("feed0", "feed1") and other != story["feed"]["name"]

    (mail,) = smtp_sink.messages
    text = mail.get_body(("plain",)).get_content()
    assert text.count(f"Also reported by: {other}") == 2  # once under each rule
    assert duplicate["title"] in text  # listed, not alerted again
    (slack,) = http_server.requests_to("/slack/T000/B000/XXXX")
    assert "Also reported by" in slack.body.decode() and other in slack.body.decode()
    assert result.stdout.count(f"Also reported by: {other}") == 2


class Replay:
    """One feed file rewritten between passes of the real pipeline; alerts from a webhook."""

    def __init__(self, tmp_path: Path, http_server, backfill: str = "all") -> None:
        self.feed = tmp_path / "feed.xml"
        self.http = http_server
        self.config_path = write_config(
            tmp_path / "monitor.yaml",
            {
                "state_dir": str(tmp_path / "state"),
                "allow_private_networks": True,
                "feeds": [{"url": f"file:{self.feed}", "name": "churn", "backfill": backfill}],
                "rules": [{"name": n, "query": q} for n, q in RULES.items()],
                "channels": {"hook": {"type": "webhook", "url": http_server.url("/hook")}},
            },
        )

    def run(self, *items: str) -> list[tuple[str, str]]:
        """Write a version of the feed, run one pass; return the (rule, title) alerts sent."""
        self.feed.write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
            + "".join(items)
            + "</channel></rss>"
        )
        before = len(self.http.requests_to("/hook"))

        async def once() -> None:
            rt = build_runtime(load(self.config_path))
            try:
                await run_once(rt)
            finally:
                await rt.aclose()

        asyncio.run(once())
        alerts = []
        for request in self.http.requests_to("/hook")[before:]:
            for story in json.loads(request.body)["items"]:
                alerts += [(rule, story["title"]) for rule in story["rules"]]
        return alerts


def rss_item(
    title: str,
    body: str,
    guid: str | None = None,
    link: str | None = None,
    date: str = "Fri, 27 Nov 2026 06:00:00 GMT",
) -> str:
    parts = [
        f"<title>{title}</title>",
        f"<description>{body}</description>",
        f"<pubDate>{date}</pubDate>",
    ]
    if guid:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link:
        parts.append(f"<link>{link.replace('&', '&amp;')}</link>")
    return "<item>" + "".join(parts) + "</item>"


BODY = "Pompeo is expected in Pyongyang next week. " + FILLER


def test_title_edit_is_an_update_not_a_new_alert(tmp_path, http_server):
    replay = Replay(tmp_path, http_server)
    assert replay.run(rss_item("Pompeo to visit Pyongyang", BODY, guid="g1")) == [
        ("pp", "Pompeo to visit Pyongyang")
    ]
    assert replay.run(rss_item("Pompeo to visit Pyongyang (updated)", BODY + " More.", "g1")) == []


def test_new_timestamps_are_not_new_items(tmp_path, http_server):
    replay = Replay(tmp_path, http_server)
    link = "https://x.example/a"
    assert len(replay.run(rss_item("Pompeo, Pyongyang", BODY, link=link))) == 1
    later = "Fri, 27 Nov 2026 06:00:01 GMT"
    assert replay.run(rss_item("Pompeo, Pyongyang", BODY, link=link, date=later)) == []


def test_tracking_parameters_and_host_case_keep_identity(tmp_path, http_server):
    replay = Replay(tmp_path, http_server)
    base = "https://news.example/2026/pompeo"
    assert len(replay.run(rss_item("Pompeo, Pyongyang", BODY, link=base + "?utm_source=rss"))) == 1
    assert (
        replay.run(rss_item("Pompeo, Pyongyang", BODY, link=base + "?utm_source=x&fbclid=1")) == []
    )
    assert (
        replay.run(rss_item("Pompeo, Pyongyang", BODY, link=base.replace("news.", "NEWS."))) == []
    )


def test_items_without_guid_or_link(tmp_path, http_server):
    replay = Replay(tmp_path, http_server)
    assert len(replay.run(rss_item("Pompeo, Pyongyang", BODY))) == 1
    assert replay.run(rss_item("Pompeo, Pyongyang", BODY)) == []


def test_guid_and_link_changing_on_every_fetch_alert_once(tmp_path, http_server):
    replay = Replay(tmp_path, http_server)
    sent = []
    for n in range(4):  # Google News style: a new guid and redirect token each time
        link = f"https://news.example/rss/articles/CBMi{n}xyz?oc={n}"
        sent += replay.run(rss_item("Pompeo, Pyongyang - Outlet", BODY, guid=f"tag:{n}", link=link))
    assert sent == [("pp", "Pompeo, Pyongyang - Outlet")]


def test_retitled_to_match_alerts_then_once(tmp_path, http_server):
    replay = Replay(tmp_path, http_server)
    quiet = "Diplomats met in Panmunjom on Sunday. " + FILLER
    assert replay.run(rss_item("Talks in Panmunjom", quiet, guid="g9")) == []
    assert replay.run(rss_item("Pompeo may return to Pyongyang", quiet, guid="g9")) == [
        ("pp", "Pompeo may return to Pyongyang")
    ]
    assert replay.run(rss_item("Pompeo may soon return to Pyongyang", quiet, guid="g9")) == []


def test_fifty_versions_alert_each_distinct_story_once(tmp_path, http_server):
    rng = random.Random(20261127)
    vocabulary = [f"w{rng.randrange(10**6)}" for _ in range(3000)]
    stories = []
    for n in range(14):
        words = " ".join(rng.choice(vocabulary) for _ in range(60))
        matching_from = rng.choice([0, 0, 10, 25, None])  # None: never matches
        stories.append({"guid": f"story-{n}", "text": words, "matching_from": matching_from})
    replay = Replay(tmp_path, http_server)
    alerted: list[str] = []
    expected: set[str] = set()
    for version in range(50):
        items = []
        for story in stories:
            if rng.random() < 0.35:
                continue  # absent from this version (disappears, may reappear)
            matches = story["matching_from"] is not None and version >= story["matching_from"]
            title = ("Pompeo in Pyongyang: " if matches else "Talks: ") + story["guid"]
            if rng.random() < 0.3:
                title += f" (update {version})"
            link = f"https://news.example/{story['guid']}?utm_campaign={rng.randrange(99)}"
            date = f"Fri, 27 Nov 2026 06:{version:02d}:00 GMT"
            items.append(rss_item(title, story["text"], guid=story["guid"], link=link, date=date))
            if matches:
                expected.add(story["guid"])
        alerted += [title.split(": ")[1].split(" ")[0] for _, title in replay.run(*items)]
    assert sorted(alerted) == sorted(expected)  # every matched story once, none twice
    assert len(expected) >= 5


def test_dedup_knobs_are_checked(tmp_path):
    cfg = yaml.safe_load("dedup: {window: 1d, max_distance: 5, retention: 7d}")
    path = write_config(tmp_path / "m.yaml", cfg)
    assert run_cli("check", "--config", str(path), cwd=tmp_path).returncode == 0
    bad = write_config(tmp_path / "b.yaml", {"dedup": {"max_distance": 40}})
    out = run_cli("check", "--config", str(bad), cwd=tmp_path)
    assert out.returncode == 1 and "b.yaml:2:17: dedup.max_distance" in out.stderr


def test_a_pending_story_shows_a_duplicate_that_arrives_later(tmp_path):
    from datetime import UTC, datetime

    from monitor.pipeline import poll_all

    feeds = []
    for name in ("feed-full.xml", "feed-syndicated.xml"):
        (tmp_path / name).write_bytes(seed_feed(name, "http://127.0.0.1:1"))
        feeds.append({"url": f"file:{tmp_path / name}", "name": name, "backfill": "all"})
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": feeds[:1],
            "rules": [{"name": n, "query": q} for n, q in RULES.items()],
            "channels": {"daily": {"type": "console", "schedule": "cron: 0 7 * * *"}},
        },
    )

    async def poll(path: Path):
        rt = build_runtime(load(path))
        try:
            await poll_all(rt)
            return Outbox(rt.store).preview("daily", datetime.now(UTC))
        finally:
            await rt.aclose()

    (story,) = asyncio.run(poll(config)).stories
    assert story.duplicates == ()
    both = yaml.safe_load(config.read_text())
    both["feeds"] = feeds
    write_config(config, both)
    (story,) = asyncio.run(poll(config)).stories
    assert [d.guid for d in story.duplicates] == ["wire-88412"]
