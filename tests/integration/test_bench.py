"""The benchmarks run (quick mode) and report a ratio; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_ingest_benchmark_quick_json():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run_all.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    result = json.loads(out.stdout)["ingest"]
    assert result["items"] == 100 and result["ratio_ours_over_baseline"] > 0
    assert result["peak_rss_mb"] > 0


def test_dedup_benchmark_quick_json():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "dedup.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    result = json.loads(out.stdout)
    assert result["fingerprint_us_per_article"] > 0
    for lookup in result["lookups"]:
        assert (
            lookup["near_probes_found"].split("/")[0] == lookup["near_probes_found"].split("/")[1]
        )
        assert lookup["ratio_brute_over_ours"] > 0


def test_match_benchmark_tiny_json():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "match.py"), "--tiny", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    result = json.loads(out.stdout)
    (size,) = result["sizes"]
    assert result["items"] == 20 and size["rules"] == 200
    assert size["ours_us_per_item"] > 0 and size["ratio_every_over_ours"] > 0
    assert size["peak_rss_mb"] > 0


def test_poll_benchmark_smoke():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "poll.py"), "--quick", "--json", "--feeds", "24"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    result = json.loads(out.stdout)
    assert result["benchmark"] == "poll" and result["feeds"] == 24
    assert result["new_entries_agree"] and result["ours"]["not_modified"] == 12
    assert result["ratio_feeds_per_s_ours_over_competent"] > 0
