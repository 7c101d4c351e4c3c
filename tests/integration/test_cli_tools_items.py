"""``test-rule`` over several sources when some cannot be read, and ``fetch``'s missing
values: the CLI in a subprocess, the feeds on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli, serve_seed

pytestmark = pytest.mark.integration

QUERY = "Pompeo AND Pyongyang"
SEED_TITLE = "Pompeo may be returning to Pyongyang soon"


def test_test_rule_shows_the_good_sources_and_a_line_per_bad_one(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    missing = http_server.url("/missing.xml")
    gone = http_server.url("/gone.xml")
    http_server.route("/gone.xml", "gone", status=410)
    result = run_cli("test-rule", QUERY, missing, urls["feed-full.xml"], gone, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr  # a source failed
    assert f"MATCH {SEED_TITLE}" in result.stdout
    assert result.stdout.endswith("1 of 5 items match; 2 of 3 sources failed\n"), result.stdout
    errors = result.stderr.splitlines()
    assert len(errors) == 2 and all(e.startswith("news-monitor: http://") for e in errors)
    assert "missing.xml" in errors[0] and "404" in errors[0], errors
    assert "gone.xml" in errors[1] and "410" in errors[1], errors


def test_test_rule_json_keeps_the_good_sources_items(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml")
    result = run_cli(
        "test-rule", "--json", QUERY, urls["feed-full.xml"], http_server.url("/no.xml"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5 and sum(r["matched"] for r in records) == 1
    assert result.stderr.count("news-monitor: ") == 1 and "404" in result.stderr


def test_test_rule_exit_codes_without_failures_are_unchanged(tmp_path, http_server):
    urls = serve_seed(http_server, "feed-full.xml", "feed-teaser.xml")
    both = [urls["feed-full.xml"], urls["feed-teaser.xml"]]
    hit = run_cli("test-rule", QUERY, *both, cwd=tmp_path)
    assert hit.returncode == 0 and hit.stderr == "", hit.stderr
    assert hit.stdout.splitlines()[-1].endswith("items match")
    miss = run_cli("test-rule", "Beijing AND Atlantis", *both, cwd=tmp_path)
    assert miss.returncode == 1 and "; " not in miss.stdout.splitlines()[-1]


def test_test_rule_when_no_source_can_be_read_prints_only_errors(tmp_path, http_server):
    result = run_cli(
        "test-rule", QUERY, http_server.url("/a.xml"), http_server.url("/b.xml"), cwd=tmp_path
    )
    assert result.returncode == 2 and result.stdout == ""
    # each line names its URL, whose random port may itself hold "404"
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.endswith(": HTTP 404 Not Found") for line in lines)


def test_fetch_shows_a_missing_link_as_a_dash_like_a_missing_date(tmp_path, http_server):
    http_server.route(
        "/bare.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>'
        '<item><guid isPermaLink="false">g1</guid><description>Only words.</description>'
        "</item></channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    result = run_cli("fetch", http_server.url("/bare.xml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "None" not in result.stdout, result.stdout
    assert "  link: -\n  published: -\n" in result.stdout, result.stdout
    shown = run_cli("fetch", "--json", http_server.url("/bare.xml"), cwd=tmp_path)
    (item,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert item["link"] is None and item["published"] is None  # JSON's own null
