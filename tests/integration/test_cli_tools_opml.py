"""``import-opml`` writes a feeds file ``check`` accepts, from a reader's export that
files a feed in several folders, spells a folder two ways, gives two feeds one name
and holds outlines that are not feeds; and says on stderr what it did about them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.integration

READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Reader</title></head><body>
  <outline text="Korea">
    <outline type="rss" text="Yonhap" xmlUrl="https://en.yna.co.kr/rss/news.xml"/>
    <outline type="rss" text="News" xmlUrl="https://a.example.org/rss"/>
  </outline>
  <outline text="Wire">
    <outline type="rss" text="Yonhap (copy)" xmlUrl="https://en.yna.co.kr/rss/news.xml"/>
    <outline type="rss" text="News" xmlUrl="https://b.example.org/rss"/>
    <outline type="link" text="A blog" url="https://blog.example.org/"/>
  </outline>
  <outline text="KOREA"><outline type="rss" text="C" xmlUrl="https://c.example.org/rss"/></outline>
  <outline text="Wire"><outline type="rss" xmlUrl="https://en.yna.co.kr/rss/news.xml"/></outline>
  <outline text="Empty folder"/>
  <outline type="rss" text="Podcast" xmlUrl="feed://pod.example.org/rss"/>
</body></opml>
"""


def imported(tmp_path: Path) -> tuple[list[dict], list[str]]:
    """Import READER_EXPORT into feeds.d/reader.yaml: its feeds and the stderr lines."""
    (tmp_path / "reader.opml").write_text(READER_EXPORT)
    done = run_cli("import-opml", "reader.opml", "-o", "feeds.d/reader.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == "wrote 4 feeds to feeds.d/reader.yaml; add it to include: in your config\n"
    )
    feeds = yaml.safe_load((tmp_path / "feeds.d" / "reader.yaml").read_text())["feeds"]
    return feeds, done.stderr.splitlines()


def test_a_feed_in_several_folders_is_one_feed_with_every_folders_tag(tmp_path):
    feeds, _ = imported(tmp_path)
    yonhap = [f for f in feeds if f["url"] == "https://en.yna.co.kr/rss/news.xml"]
    assert yonhap == [
        {"url": "https://en.yna.co.kr/rss/news.xml", "name": "Yonhap", "tags": ["Korea", "Wire"]}
    ]
    assert [f["url"] for f in feeds] == [
        "https://en.yna.co.kr/rss/news.xml",
        "https://a.example.org/rss",
        "https://b.example.org/rss",
        "https://c.example.org/rss",
    ]
    assert [f["name"] for f in feeds[1:]] == ["News", "News (2)", "C"]
    assert feeds[3]["tags"] == ["Korea"]  # "KOREA" written as first spelt


def test_what_was_left_out_or_changed_is_said_on_stderr(tmp_path):
    _, notes = imported(tmp_path)
    assert notes == [
        'import-opml: skipped 2 outlines without xmlUrl: "A blog", "Empty folder"',
        "import-opml: merged 2 outlines listing a feed URL listed before (one feed each: "
        "the first title, the tags of every folder)",
        "import-opml: skipped 1 feed whose URL is not http(s):// or file: "
        '"feed://pod.example.org/rss"',
        "import-opml: renamed 1 feed whose name was taken: 'News' -> 'News (2)'",
        "import-opml: wrote 1 tag as first spelt: 'KOREA' -> 'Korea'",
    ]


def test_the_imported_file_passes_check(tmp_path):
    feeds, _ = imported(tmp_path)
    config = write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "include": ["feeds.d/*.yaml"],
            "channels": {"out": {"type": "console"}},
        },
    )
    check = run_cli("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"{len(feeds)} feeds" in check.stdout, check.stdout


def test_on_stdout_the_yaml_alone(tmp_path):
    (tmp_path / "reader.opml").write_text(READER_EXPORT)
    shown = run_cli("import-opml", "reader.opml", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert len(yaml.safe_load(shown.stdout)["feeds"]) == 4
    assert "skipped 2 outlines" in shown.stderr and "import-opml:" not in shown.stdout


def test_a_clean_export_says_nothing_on_stderr(tmp_path):
    (tmp_path / "clean.opml").write_text(
        '<opml version="2.0"><body><outline text="K">'
        '<outline text="Y" xmlUrl="https://en.yna.co.kr/rss/news.xml"/></outline></body></opml>'
    )
    shown = run_cli("import-opml", "clean.opml", "-o", "clean.yaml", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr


def test_a_refused_url_is_named_without_its_credentials(tmp_path):
    (tmp_path / "creds.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline type="rss" text="Private" xmlUrl="feed://user:s3cr3t@g.example/rss?token=t0k"/>'
        '<outline type="rss" text="Ok" xmlUrl="https://a.example.org/rss"/></body></opml>'
    )
    done = run_cli("import-opml", "creds.opml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'file: "feed://g.example/rss?…"' in done.stderr, done.stderr
    assert "s3cr3t" not in done.stderr and "t0k" not in done.stderr
