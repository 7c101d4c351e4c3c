"""A feed's state is keyed by its URL minus secrets, and older state is carried over.

Private feeds put tokens in the query string (``?token=…``). The state database keys
a feed by its URL without ``user:password@`` and with the query replaced by a digest
(:func:`monitor.redact.state_key`). State written by earlier versions under the URL
with its query is moved to the new key when the daemon starts, so an upgrade neither
forgets a feed's ETag and seen items nor keeps the token in the feed's row.
"""

from __future__ import annotations

import sqlite3

from monitor.redact import state_key
from tests.conftest import run_cli, serve_seed, write_config

TOKEN = "tok-0a1b2c3d4e5f"


def test_state_key_hides_query_and_userinfo_but_keeps_urls_apart() -> None:
    a = state_key(f"https://u:pw@example.org/feed?token={TOKEN}")
    b = state_key("https://example.org/feed?token=another")
    assert TOKEN not in a and "pw" not in a and a.startswith("https://example.org/feed?sha256=")
    assert a != b and a == state_key(f"https://example.org/feed?token={TOKEN}")
    assert state_key("https://example.org/feed") == "https://example.org/feed"


def test_state_under_the_old_key_moves_to_the_new_one(tmp_path, http_server) -> None:
    url = serve_seed(http_server, "feed-full.xml")["feed-full.xml"] + f"?token={TOKEN}"
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"name": "private", "url": url, "backfill": "all"}],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {"console": {"type": "console", "group_wait": "0s"}},
        },
    )
    first = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "pompeo" in first.stdout.lower()
    db = tmp_path / "state" / "monitor.db"
    with sqlite3.connect(db) as conn:  # what an earlier version left: the URL as key
        conn.execute("UPDATE feeds SET url = ?", (url,))
        conn.execute("UPDATE feed_refs SET url = ?", (url,))  # items name their feed by id
        seen = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    assert seen > 0

    again = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as conn:
        feeds = conn.execute("SELECT url, etag IS NOT NULL OR last_modified IS NOT NULL FROM feeds")
        assert feeds.fetchall() == [(state_key(url), 1)]
        owners = conn.execute(
            "SELECT DISTINCT r.url, count(*) FROM items JOIN feed_refs r ON r.id = feed_id"
        ).fetchall()
    assert owners == [(state_key(url), seen)]
    assert "pompeo" not in again.stdout.lower()  # nothing alerted twice


def test_a_permanent_redirect_to_a_url_with_a_token_is_not_stored(tmp_path, http_server) -> None:
    """A 301 to ``…?token=…`` is followed, but the target never reaches the database."""
    new = serve_seed(http_server, "feed-full.xml")["feed-full.xml"] + f"?token={TOKEN}"
    http_server.route("/old.xml", b"", status=301, headers={"Location": new})
    plain = {"Location": "/feeds/feed-full.xml"}
    http_server.route("/plain-old.xml", b"", status=308, headers=plain)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [
                {"name": "private", "url": http_server.url("/old.xml"), "backfill": "all"},
                {"name": "public", "url": http_server.url("/plain-old.xml")},
            ],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {"console": {"type": "console", "group_wait": "0s"}},
        },
    )
    done = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pompeo" in done.stdout.lower()  # the feed behind the redirect was read
    assert any(r.path.endswith(f"?token={TOKEN}") for r in http_server.requests)
    db = tmp_path / "state" / "monitor.db"
    with sqlite3.connect(db) as conn:
        moved = dict(conn.execute("SELECT url, permanent_url FROM feeds").fetchall())
    assert moved == {
        http_server.url("/old.xml"): None,
        http_server.url("/plain-old.xml"): http_server.url("/feeds/feed-full.xml"),
    }
    for path in tmp_path.joinpath("state").iterdir():
        assert TOKEN.encode() not in path.read_bytes(), path.name
    assert TOKEN not in done.stdout + done.stderr


RELATIVE_RSS = """<rss version="2.0"><channel><title>rel</title><link>/</link>
<item><title>Pompeo to visit Pyongyang</title><link>/news/1.html</link>
<guid isPermaLink="false">rel-1</guid></item>
<item><title>Pompeo and Pyongyang, page two</title><link>?page=2</link>
<guid isPermaLink="false">rel-2</guid></item>
<item><title>Pompeo in Pyongyang, an anchor</title><link>#latest</link>
<guid isPermaLink="false">rel-3</guid></item>
</channel></rss>"""


def test_relative_links_never_carry_the_feed_urls_token_or_password(tmp_path, http_server) -> None:
    """Links are resolved against the fetched URL without ``user:password@``, query or
    fragment: after a redirect to ``bob:hunter2pw@…/rel.xml?token=…`` neither reaches
    the database or an alert, and an old row holding a token target is cleared."""
    http_server.route("/rel.xml", RELATIVE_RSS)
    target = http_server.url("/rel.xml").replace("://", "://bob:hunter2pw@") + f"?token={TOKEN}"
    http_server.route("/old.xml", b"", status=301, headers={"Location": target})
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "allow_private_networks": True,
            "feeds": [{"name": "moved", "url": http_server.url("/old.xml"), "backfill": "all"}],
            "rules": [{"name": "pompeo", "query": "Pompeo AND Pyongyang"}],
            "channels": {"console": {"type": "console", "group_wait": "0s"}},
        },
    )
    done = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Pyongyang") >= 3, done.stdout  # all three items alerted
    assert http_server.url("/news/1.html") in done.stdout
    assert http_server.url("/rel.xml?page=2") in done.stdout
    for path in tmp_path.joinpath("state").iterdir():
        data = path.read_bytes()
        assert TOKEN.encode() not in data and b"hunter2pw" not in data, path.name
    db = tmp_path / "state" / "monitor.db"
    with sqlite3.connect(db) as conn:  # what an earlier version left: the token target
        conn.execute("UPDATE feeds SET permanent_url = ?", (target,))
    again = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT permanent_url FROM feeds").fetchall() == [(None,)]
    for output in (done.stdout, done.stderr, again.stdout, again.stderr):
        assert TOKEN not in output and "hunter2pw" not in output
