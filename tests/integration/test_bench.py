"""The benchmarks run (quick mode) and report a ratio; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def run_bench(script: str, *args: str) -> dict:
    """Run ``bench/SCRIPT ARGS`` and return the JSON object it prints."""
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    return json.loads(out.stdout)


def test_ingest_benchmark_quick_json():
    result = run_bench("ingest.py", "--quick", "--json")  # run_all.py is what make bench runs
    assert result["items"] == 100 and result["ratio_ours_over_baseline"] > 0
    assert result["peak_rss_mb"] > 0


def test_dedup_benchmark_quick_json():
    result = run_bench("dedup.py", "--quick", "--json")
    assert result["fingerprint_us_per_article"] > 0
    for lookup in result["lookups"]:
        assert (
            lookup["near_probes_found"].split("/")[0] == lookup["near_probes_found"].split("/")[1]
        )
        assert lookup["ratio_brute_over_ours"] > 0


def test_match_benchmark_tiny_json():
    result = run_bench("match.py", "--tiny", "--json")
    (size,) = result["sizes"]
    assert result["items"] == 20 and size["rules"] == 200
    assert size["ours_us_per_item"] > 0 and size["ratio_every_over_ours"] > 0
    assert size["peak_rss_mb"] > 0
    assert set(result["floors"]) == {
        "python_word_set_us_per_item",
        "numpy_word_hashes_us_per_item",
    }
    assert all(v > 0 for v in result["floors"].values())


def test_poll_benchmark_smoke():
    result = run_bench("poll.py", "--quick", "--json", "--feeds", "24")
    assert result["benchmark"] == "poll" and result["feeds"] == 24
    assert result["new_entries_agree"] and result["ours"]["not_modified"] == 12
    assert result["ratio_feeds_per_s_ours_over_competent"] > 0
