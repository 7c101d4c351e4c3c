"""The benchmarks run (quick mode) and report a ratio; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from tests.pgserver import require_bindir


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


def test_peers_pure_parts(tmp_path, monkeypatch):
    """bench/peers.py's configs and ratios, without rss2email or the network."""
    import configparser
    import importlib.util

    import yaml

    from monitor.config.loading import load

    spec = importlib.util.spec_from_file_location("peers", REPO / "bench" / "peers.py")
    peers = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "peers", peers)  # its dataclass looks itself up
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    spec.loader.exec_module(peers)

    ours = peers.our_config(tmp_path / "state", "http://127.0.0.1:9", [0, 5], 2525)
    (tmp_path / "monitor.yaml").write_text(yaml.safe_dump(ours))
    config = load(tmp_path / "monitor.yaml")  # a config news-monitor accepts
    assert [f.name for f in config.feeds] == ["feed-0", "feed-5"]
    assert ours["defaults"]["backfill"] == 0
    query = ours["rules"][0]["query"]
    assert all(word in query for word in peers.WORDS)  # every bench item has one of them

    theirs = configparser.ConfigParser()
    theirs.read_string(peers.r2e_config("http://127.0.0.1:9", [0, 5], 2525))
    assert theirs["DEFAULT"]["email-protocol"] == "smtp"
    assert theirs["DEFAULT"]["smtp-server"] == "127.0.0.1:2525"
    assert theirs["feed.feed-5"]["url"] == "http://127.0.0.1:9/5.xml"

    assert peers.ratio(1.0, 4.0) == 0.25 and peers.ratio(1.0, 0) is None
    run = peers.Run(cpu_s=1.0, wall_s=2.0, tree_rss_mb=100.0, largest_rss_mb=60.0)
    half = peers.Run(cpu_s=0.5, wall_s=1.0, tree_rss_mb=50.0, largest_rss_mb=30.0)
    side = {
        "first_poll": peers.summarize([run]),
        "steady": peers.summarize([run, run, half]),
        "once_one_feed": peers.summarize([run]),
        "state_bytes": 1000,
    }
    other = {
        "first_poll": peers.summarize([half]),
        "steady": peers.summarize([half]),
        "once_one_feed": peers.summarize([half]),
        "state_bytes": 250,
    }
    got = peers.ratios({"ours": side, "rss2email": other, "items_first_poll": 10})
    assert got["cpu_ratio"] == 2.0 and got["wall_ratio"] == 2.0  # medians
    assert got["rss_ratio"] == 2.0 and got["db_ratio"] == 4.0  # maxima; bytes
    assert got["first_poll_cpu_ratio"] == 2.0 and got["once_one_feed_cpu_ratio"] == 2.0
    assert got["db_bytes_per_item"] == 100.0 and got["rss2email_db_bytes_per_item"] == 25.0
    assert got["steady_floor_ratio"] is None and got["rss_floor_mb"] is None  # no floors
    assert "daemon_cpu_ratio" not in got  # no daemon run

    side["daemon"] = {
        "cycles": 2,
        "interval": "20s",
        "cpu_s": 0.125,
        "tree_rss_mb": 150.0,
        "largest_rss_mb": 80.0,
        "requests": 2.0,
        "messages": 1.0,
        "items": 3,
    }
    got = peers.ratios({"ours": side, "rss2email": other, "items_first_poll": 10})
    assert got["daemon_cpu_ratio"] == 0.25  # / rss2email's steady 0.5 s
    assert got["daemon_rss_ratio"] == 3.0  # / rss2email's peak 50 MiB

    quarter = peers.Run(cpu_s=0.25, wall_s=0.5, tree_rss_mb=25.0, largest_rss_mb=25.0)
    floors = {
        "steady_floor": peers.summarize([quarter, run, quarter]),  # median 0.25 s
        "first_poll_floor": peers.summarize([run]),
        "once_floor": peers.summarize([quarter]),
        "rss_floor_main": peers.summarize([half]),  # 50 MiB
        "rss_floor_worker": peers.summarize([quarter]),  # 25 MiB
    }
    got = peers.ratios({"ours": side, "rss2email": other, "items_first_poll": 10, "floors": floors})
    assert got["steady_floor_ratio"] == 0.5 and got["first_poll_floor_ratio"] == 2.0
    assert got["once_floor_ratio"] == 0.5
    assert got["rss_floor_mb"] == 75.0 and got["rss_floor_ratio"] == 1.5  # / rss2email's 50
    assert got["cpu_ratio"] == 2.0  # the tools' ratios are unchanged
    result = {
        "ours": side,
        "rss2email": other,
        "floors": floors,
        "ratios": got,
        "feeds": 2,
        "items_first_poll": 10,
        "rss2email_version": "x",
        "cpus": 1,
        "alerts": [],
    }
    side["first_poll_mail"] = other["first_poll_mail"] = (0, 0)
    assert "peak RSS, main + parse worker (MiB)" in peers.table(result)
    assert "daemon, 2 cycles, interval 20s: CPU a cycle 0.125 s" in peers.table(result)


def test_peers_floor_programs_run(tmp_path, monkeypatch):
    """Each floor's program of bench/floors.py runs to the end on a one-feed server."""
    import functools
    import http.server
    import os
    import threading

    import yaml

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import floors
    import peers

    feed = tmp_path / "www" / "0.xml"
    feed.parent.mkdir()
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<link>http://news.example/</link><description>d</description>"
        "<item><title>One</title><link>http://news.example/1.html</link>"
        '<guid isPermaLink="false">g1</guid><description>peace talks</description></item>'
        "</channel></rss>\n"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(feed.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        config = tmp_path / "monitor.yaml"
        config.write_text(yaml.safe_dump(peers.our_config(tmp_path / "state", base, [0], 9)))
        etags = floors.fetch_bodies([f"{base}/0.xml"], tmp_path / "bodies")
        assert etags == {}  # http.server sends none: every GET is a 200
        env = dict(os.environ, PYTHONPATH=str(REPO))

        def measure(cmd: list[str]) -> peers.Run:
            return peers.measure(cmd, env, tmp_path, tmp_path / "log.txt")

        runs = [
            floors.once_floor(measure, config, floors.etag_of(f"{base}/0.xml")),
            floors.first_poll_floor(measure, tmp_path / "bodies"),
            floors.steady_floor(measure, config, floors.write_etags(etags, tmp_path / "e.json")),
            floors.rss_floor_main(measure, config),
            floors.rss_floor_worker(measure, tmp_path / "bodies" / "00000.xml"),
        ]
    finally:
        server.shutdown()
        server.server_close()
    assert all(r.cpu_s > 0 and r.wall_s > 0 for r in runs)  # measure() raised on exit != 0
    log = (tmp_path / "log.txt").read_text()
    assert "once floor: status 200" in log and "1 bodies, 1 entries" in log
    assert "steady floor: 1 x 200, 0 x 304" in log


def test_pollserver_new_entries_are_one_to_three_and_seeded(monkeypatch):
    """Changed feeds gain 1–3 entries per cycle, the same on every run."""
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from pollserver import feed_body, new_entries

    counts = [new_entries(f, c) for f in range(5, 600, 6) for c in (1, 2, 3)]
    assert set(counts) == {1, 2, 3}
    assert [new_entries(f, 1) for f in range(6)] == [0, 0, 0, 0, 0, new_entries(5, 1)]
    assert feed_body(0, 3) == feed_body(0, 0)  # unchanged feeds never change
    assert feed_body(5, 2) != feed_body(5, 1) and feed_body(5, 2) == feed_body(5, 2)


def test_cluster_benchmark_tiny_json():
    require_bindir()  # PostgreSQL: skipped without it (failed with CI=true)
    result = run_bench("cluster.py", "--quick", "--json", "--feeds", "24", "--claim-feeds", "2000")
    assert result["benchmark"] == "cluster" and result["feeds"] == 24
    runs = [result["sqlite"], *result["postgresql"]]
    assert [r["instances"] for r in runs] == [1, 1, 2, 3]
    for run in runs:  # 24 feeds are polled too fast for a window: figures may be None
        assert {"polls_per_s", "cpu_s_per_1000_polls", "all_polled_s"} <= set(run)
        assert run["all_polled_s"] > 0 and run["polls_measured"] > 0
        assert run["polls_per_s"] is None or run["polls_per_s"] > 0
    claims = result["claims"]
    assert claims["feeds"] == 2000 and claims["no_key_list"]["claims"] > 2000 // 16
    assert claims["no_key_list"]["median_ms"] > 0 and claims["key_list"]["p95_ms"] > 0


def test_daemon_cycle_measures_a_real_daemon(tmp_path, monkeypatch):
    """bench/daemoncycle.py runs our daemon on primed state for a server cycle: every
    feed is polled, the cycle's new entries reach a real SMTP sink, CPU is counted."""
    import yaml

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import daemoncycle
    import peers
    from pollserver import new_entries, set_cycle, start_server

    feeds = list(range(6))
    expected = sum(new_entries(i, 1) for i in feeds)
    assert expected > 0  # feed 5 changes at cycle 1
    server, base = start_server(len(feeds))
    sink = peers.Sink()
    try:
        ours, _ = peers.make_sides(tmp_path, tmp_path / "r2e", base, feeds, sink.port)
        config = ours.root / "monitor.yaml"
        data = yaml.safe_load(config.read_text())
        data["defaults"]["interval"] = "2s"  # the bench's 20 s, shortened for the suite
        config.write_text(yaml.safe_dump(data))
        set_cycle(base, 0)
        ours.run()  # the first poll: primes the state, alerts nothing (backfill 0)
        assert sink.take(peers.OURS_TO) == (0, 0)
        got = daemoncycle.measure_daemon(
            ours,
            base,
            len(feeds),
            0,
            1,
            expected,
            lambda: sink.count(peers.OURS_TO),
            peers.tree_rss_mb,
            peers._children,
        )
    finally:
        sink.stop()
        server.terminate()
        server.join(10)
    assert got["items"] == expected and got["messages"] >= 1
    assert got["requests"] >= len(feeds) and got["cpu_s"] > 0
    assert got["tree_rss_mb"] >= got["largest_rss_mb"] > 0 and got["interval"] == "2s"
    log = (ours.root / "log.txt").read_text()
    assert "run --config daemon.yaml" in log
