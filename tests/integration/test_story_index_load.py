"""The near-duplicate index is read from the store at a run's first new item, not at
start (issue #18): a pass that finds nothing new never reads it, and a copy found
after a restart still joins the story it copies (by text: another link, another
title)."""

from __future__ import annotations

import asyncio

from monitor.config import MonitorConfig
from monitor.pipeline import poll_feed
from monitor.runtime import build_runtime
from tests.integration.test_stories import FILLER, rss_item
from tests.integration.test_story_folding import rss

BODY = "Pompeo is expected in Pyongyang next week for talks with officials. " + FILLER


def make_config(tmp_path, http_server) -> MonitorConfig:
    return MonitorConfig.model_validate(
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "defaults": {"backfill": "all"},
            "feeds": [
                {"name": "a", "url": http_server.url("/a.xml")},
                {"name": "b", "url": http_server.url("/b.xml")},
            ],
            "rules": [{"name": "pp", "query": "Pompeo AND Pyongyang"}],
            "channels": {"hold": {"type": "console", "schedule": "cron: 0 0 1 1 *"}},
        }
    )


def one_run(config: MonitorConfig, feeds: list[str]) -> tuple[list, bool, bool, int]:
    """Build a runtime (a new run), poll ``feeds`` by name; (reports, index loaded
    before the polls, after them, fingerprints in the index)."""
    rt = build_runtime(config)

    async def go():
        try:
            before = rt.stories_loaded
            by_name = {f.name: f for f in config.feeds}
            reports = [await poll_feed(rt, by_name[n], force=True) for n in feeds]
            return reports, before, rt.stories_loaded, len(list(rt.stories.index.entries()))
        finally:
            await rt.aclose()

    return asyncio.run(go())


def test_the_index_is_read_at_the_first_new_item_and_a_later_copy_joins(tmp_path, http_server):
    http_server.route("/a.xml", rss(rss_item("Pompeo to visit Pyongyang", BODY, "a-1")))
    http_server.route("/b.xml", rss())
    config = make_config(tmp_path, http_server)
    reports, before, after, size = one_run(config, ["a", "b"])
    assert [r.new_items for r in reports] == [1, 0] and not before and after and size == 1

    # a new run, nothing new: the index is never read
    reports, before, after, size = one_run(config, ["a", "b"])
    assert [r.new_items for r in reports] == [0, 0] and (before, after, size) == (False, False, 0)

    # a new run, a copy under another title and link: read, and the copy joins
    copy = rss_item("US envoy heads north", BODY, "b-1", "https://b.example/1")
    http_server.route("/b.xml", rss(copy))
    reports, before, after, size = one_run(config, ["b"])
    assert reports[0].new_items == 1 and not before and after and size == 2
    assert reports[0].alerts == 0  # folded into a-1's story, which alerted already
