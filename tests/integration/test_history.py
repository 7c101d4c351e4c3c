"""``news-monitor history`` (issue #15 point 1): what matched and where each alert went.

A real HTTP server serves two feeds carrying the same story and takes the webhooks
(one receiver accepts, one answers 400); the CLI runs in subprocesses.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import run_cli, write_config

LINK = "http://127.0.0.1:9/news/pompeo-pyongyang"  # one link, two outlets: one story
TARIFFS, TOKEN = "http://127.0.0.1:9/tariffs", "SeCrEtToKeN42"  # a link with a credential
BODY = (
    "Pompeo is expected in Pyongyang next week for talks on denuclearization, officials "
    "said, after a review of the summit's results by both sides."
)


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(guid: str, title: str, link: str, body: str = BODY) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid><description>{body}</description>'
        "<pubDate>Mon, 30 Nov 2026 06:00:00 GMT</pubDate></item>"
    )


def setup(tmp_path: Path, http_server, timezone: str = "UTC") -> Path:
    """Two feeds with one story (feed A also has a tariff item), two webhooks, one pass;
    ``timezone`` is the config's."""
    http_server.route(
        "/a.xml",
        rss(
            item("a-1", "Pompeo to visit Pyongyang", LINK),
            item("a-2", "Tariff talks resume", TARIFFS + "?api_key=" + TOKEN, "New tariff talks."),
        ),
    )
    http_server.route("/b.xml", rss(item("b-1", "Pompeo heads to Pyongyang again", LINK)))
    http_server.respond_post("/hook", (200, {}, b"ok"))
    http_server.respond_post("/bad", (400, {}, b"bad payload schema"))
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "timezone": timezone,
            "allow_private_networks": True,
            "feeds": [
                {"url": http_server.url("/a.xml"), "name": "Outlet A", "backfill": "all"},
                {"url": http_server.url("/b.xml"), "name": "Outlet B", "backfill": "all"},
            ],
            "rules": [
                {"name": "pp", "query": "Pompeo AND Pyongyang", "notify": ["hook", "bad"]},
                {"name": "tariffs", "query": "tariff", "notify": ["hook"]},
            ],
            "channels": {
                "hook": {"type": "webhook", "url": http_server.url("/hook")},
                "bad": {"type": "webhook", "url": http_server.url("/bad")},
            },
        },
    )
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert len(http_server.requests_to("/hook")) == 1, result.stderr
    return config


def shown_in(zone: str, stamp: str, name: str) -> str:
    """A stored UTC time (``…Z``) as history's text shows it in ``zone``."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M:%S} {name}"


def history(config: Path, *args: str) -> dict:
    result = run_cli("history", "--json", *args, "--config", str(config), cwd=config.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_history_lists_matches_with_channel_outcomes_and_folded_copies(tmp_path, http_server):
    config = setup(tmp_path, http_server, timezone="Asia/Seoul")
    (sent,) = http_server.requests_to("/hook")
    message_id = sent.headers["webhook-id"]
    state_files = sorted(p.name for p in (tmp_path / "state").iterdir())

    found = history(config)
    assert found["more"] == 0
    by_rule: dict[str, list[dict]] = {}
    for match in found["matches"]:
        by_rule.setdefault(match["rule"], []).append(match)
    assert len(by_rule["pp"]) == 2 and len(by_rule["tariffs"]) == 1
    # both copies of the story matched; one started it, the other folded into it
    first, folded = sorted(by_rule["pp"], key=lambda m: not m["story"]["first"])
    assert first["story"]["first"] and not folded["story"]["first"]
    assert first["story"]["id"] == folded["story"]["id"]
    (copy,) = first["story"]["copies"]
    assert (copy["feed"]["name"], copy["title"]) == (folded["feed"]["name"], folded["title"])
    assert {first["feed"]["name"], folded["feed"]["name"]} == {"Outlet A", "Outlet B"}
    assert first["link"] == LINK
    for match in (first, folded):  # the story's alert, whichever copy is looked at
        outcome = {c["channel"]: c for c in match["channels"]}
        assert outcome["hook"]["status"] == "sent" and outcome["hook"]["sent_at"]
        assert outcome["hook"]["message_id"] == message_id
        assert outcome["bad"]["status"] == "failed"
        assert "400" in outcome["bad"]["last_error"]
        assert not match["baseline"]

    text = run_cli("history", "--config", str(config), cwd=tmp_path).stdout
    hook = next(c for c in first["channels"] if c["channel"] == "hook")
    # the text in the config's zone, as status shows times; --json as stored (UTC)
    assert hook["sent_at"].endswith("Z") and first["when"].endswith("Z")
    assert f"hook: sent {shown_in('Asia/Seoul', hook['sent_at'], 'KST')}, message" in text
    assert f"{shown_in('Asia/Seoul', first['when'], 'KST')}  rule pp" in text
    assert "bad: FAILED" in text and "400" in text
    assert f"also: {copy['feed']['name']}: {copy['title']}" in text
    assert "Tariff talks resume" in text and TARIFFS in text
    assert TOKEN not in text and TOKEN not in json.dumps(found)
    # read-only: no -wal or -shm left behind (owned by an admin, they would stop the daemon)
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == state_files


def test_history_filters_by_rule_channel_and_since(tmp_path, http_server):
    config = setup(tmp_path, http_server)
    assert {m["rule"] for m in history(config, "--rule", "tariffs")["matches"]} == {"tariffs"}
    assert {m["rule"] for m in history(config, "--channel", "bad")["matches"]} == {"pp"}
    limited = history(config, "--limit", "1")
    assert len(limited["matches"]) == 1 and limited["more"] == 2

    with sqlite3.connect(tmp_path / "state" / "monitor.db") as db:  # pp matched two days ago
        db.execute("UPDATE matches SET created_at = '2020-01-01T00:00:00Z' WHERE rule = 'pp'")
    db.close()
    assert {m["rule"] for m in history(config, "--since", "24h")["matches"]} == {"tariffs"}
    assert len(history(config)["matches"]) == 3
    newest_first = [m["when"] for m in history(config)["matches"]]
    assert newest_first == sorted(newest_first, reverse=True)

    bad = run_cli("history", "--since", "yesterday", "--config", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and "--since: invalid duration" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_history_message_shows_what_a_sent_message_carried(tmp_path, http_server):
    config = setup(tmp_path, http_server)
    message_id = http_server.requests_to("/hook")[0].headers["webhook-id"]

    shown = history(config, "--message", message_id)["message"]
    assert (shown["id"], shown["channel"], shown["status"]) == (message_id, "hook", "sent")
    assert shown["attempts"] == 1 and shown["sent_at"] and shown["answer"]
    rules = {s["title"]: s["rules"] for s in shown["stories"]}
    pp_title = next(t for t in rules if t.startswith("Pompeo"))
    assert rules == {pp_title: ["pp"], "Tariff talks resume": ["tariffs"]}
    pp_story = next(s for s in shown["stories"] if s["title"] == pp_title)
    assert len(pp_story["story"]["copies"]) == 1

    text = run_cli("history", "--message", message_id, "--config", str(config), cwd=tmp_path)
    assert text.returncode == 0
    sent_at = shown_in("UTC", shown["sent_at"], "UTC")
    assert f"message {message_id}  channel hook  SENT {sent_at}" in text.stdout
    assert f"created {shown_in('UTC', shown['created_at'], 'UTC')}, 1 attempt" in text.stdout
    assert "Tariff talks resume [tariffs]" in text.stdout and f"{pp_title} [pp]" in text.stdout

    missing = run_cli("history", "--message", "nope", "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 1 and "no message 'nope'" in missing.stdout


def test_history_without_state_says_so_and_creates_nothing(tmp_path):
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "feeds": [{"url": "https://news.example.org/feed.xml"}],
            "channels": {"out": {"type": "console"}},
        },
    )
    result = run_cli("history", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert f"no state in {tmp_path / 'state'}: the daemon has not run with" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["monitor.yaml"]


def test_history_of_a_corrupt_state_is_one_line(tmp_path):
    config = write_config(
        tmp_path / "monitor.yaml",
        {"state_dir": str(tmp_path / "state"), "channels": {"out": {"type": "console"}}},
    )
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "monitor.db").write_bytes(b"not a database\x00" * 512)
    result = run_cli("history", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"state database {tmp_path / 'state' / 'monitor.db'} is corrupt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_history_shows_an_edited_items_title_as_stored_now_not_as_sent(tmp_path, http_server):
    # What docs/operations.md (History) says: no message keeps the text it carried; each
    # attempt builds it from the items as stored, and history shows them as stored now.
    http_server.route("/a.xml", rss(item("a-1", "Pompeo to visit Pyongyang", LINK)))
    http_server.respond_post("/hook", (503, {}, b"busy"), (200, {}, b"ok"))
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"url": http_server.url("/a.xml"), "name": "A", "backfill": "all"}],
            "rules": [{"name": "pp", "query": "Pompeo", "notify": ["hook"]}],
            "channels": {"hook": {"type": "webhook", "url": http_server.url("/hook")}},
        },
    )
    once = ("run", "--once", "--retry-now", "--config", str(config))
    assert run_cli(*once, cwd=tmp_path).returncode == 3  # the 503: retried later
    http_server.route("/a.xml", rss(item("a-1", "Pompeo lands in Pyongyang", LINK)))  # edited
    assert run_cli(*once, cwd=tmp_path).returncode == 0
    bodies = [json.loads(r.body) for r in http_server.requests_to("/hook")]
    assert len({b["id"] for b in bodies}) == 1  # the same message, tried twice
    assert [b["items"][0]["title"] for b in bodies] == [
        "Pompeo to visit Pyongyang",
        "Pompeo lands in Pyongyang",  # the retry carries the edit
    ]
    (match,) = history(config)["matches"]
    assert match["title"] == "Pompeo lands in Pyongyang"
    shown = history(config, "--message", bodies[0]["id"])["message"]
    assert [s["title"] for s in shown["stories"]] == ["Pompeo lands in Pyongyang"]


def test_history_says_a_removed_channels_alerts_wait_for_nothing(tmp_path, http_server):
    """A channel taken out of the config leaves its pending message behind: nothing
    sends it, and ``history`` says so (as ``status`` does) rather than "due now"."""
    http_server.route("/a.xml", rss(item("a-1", "Pompeo to visit Pyongyang", LINK)))
    http_server.respond_post("/flaky", (503, {}, b"try later"))
    settings = {
        "state_dir": str(tmp_path / "state"),
        "allow_private_networks": True,
        "feeds": [{"url": http_server.url("/a.xml"), "name": "Outlet A", "backfill": "all"}],
        "rules": [{"name": "pp", "query": "Pompeo", "notify": ["flaky"]}],
        "channels": {"flaky": {"type": "webhook", "url": http_server.url("/flaky")}},
    }
    config = write_config(tmp_path / "monitor.yaml", settings)
    result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert len(http_server.requests_to("/flaky")) == 1, result.stderr
    (alert,) = history(config)["matches"][0]["channels"]
    assert alert["status"] == "pending" and alert["waiting"] is None  # waits for its retry

    settings["rules"][0]["notify"] = ["hook"]  # the channel renamed
    settings["channels"] = {"hook": {"type": "webhook", "url": http_server.url("/hook")}}
    write_config(config, settings)
    (alert,) = history(config)["matches"][0]["channels"]
    assert alert["channel"] == "flaky" and alert["status"] == "pending"
    assert alert["waiting"].startswith("waiting: channel not in the config (removed or renamed)")
    text = run_cli("history", "--config", str(config), cwd=tmp_path).stdout
    assert "channel not in the config" in text and "due now" not in text, text
    shown = history(config, "--message", alert["message_id"])["message"]
    assert shown["waiting"] == alert["waiting"]
    text = run_cli(
        "history", "--message", alert["message_id"], "--config", str(config), cwd=tmp_path
    )
    assert "channel flaky  PENDING, waiting: channel not in the config" in text.stdout, text.stdout
