"""The stored form of items and matches (monitor/store/itemcodec.py and codec.py,
format 5): round trips, rows written by earlier versions still read, what a stored item
costs, and the hash items are looked up by."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.dedup.identity import content_hash, same_content
from monitor.models import FeedRef, Highlight, Item, Match
from monitor.store.codec import (
    match_from_json,
    match_to_json,
    parse_ts,
    read_hash,
    stored_hash,
    text_hash,
)
from monitor.store.itemcodec import (
    ITEM_FORMAT,
    ROLLING_FORMAT,
    epoch_seconds,
    is_compact,
    moment_of,
    pack_item,
    unpack_item,
)

UPGRADE_STATE = Path(__file__).parent.parent / "data" / "upgrade" / "state-v0" / "monitor.db"
FEED = "https://news.example/rss.xml"
WHEN = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
WORDS = "Pompeo met officials in Pyongyang to prepare a declaration ending the war. "


def item(**changes) -> Item:
    fields = {
        "feed": FeedRef("Desk", FEED),
        "id": "urn:story:1",
        "title": "Pompeo may be returning to Pyongyang",
        "link": "https://news.example/2018/08/pompeo",
        "guid": "urn:story:1",
        "summary": "Pompeo may visit Pyongyang again, officials said.",
        "content": "",
        "published": WHEN,
        "author": "Kim",
        "tags": ("korea", "diplomacy"),
        "lang": "en",
    }
    return Item(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"guid": None, "id": "https://news.example/2018/08/pompeo"},  # no guid: id is the link
        {"guid": "urn:other"},  # a guid that is not the id
        {"feed": FeedRef("Desk", "https://news.example/rss.xml?sha256=abc")},  # not the row's
        {"published": None, "author": None, "tags": (), "lang": None, "link": None},
        {"summary": WORDS * 40, "content": "평양에서 " * 300},  # long: compressed
        {"title": "", "summary": "", "content": "x"},
    ],
)
def test_a_packed_item_reads_back_the_same(changes):
    original = item(**changes)
    for version in (ITEM_FORMAT, ROLLING_FORMAT):
        for feed_url, key in ((FEED, original.id), (FEED, "another-key"), (None, None)):
            for name in ("Desk", "Renamed since", None):  # the row's feed_refs.name
                text = pack_item(original, feed_url, key, feed_name=name, version=version)
                stored = unpack_item(text, feed_url, key, name)
                assert stored.full and stored.item == original


def test_format_5_keeps_a_slim_item_as_an_array_and_format_3_spells_it_out():
    """Format 5 (SQLite): a slim row is ``[title, link, published]`` with what the
    row's columns do not say in a fourth element; a full row is an object that names
    the feed only when its name is not ``feed_refs.name``. Format 3 (what PostgreSQL
    writes, so the previous version reads every row) is as that version wrote it."""
    original = item(summary="")
    epoch = int(WHEN.timestamp())
    slim = json.loads(pack_item(original, FEED, original.id, feed_name="Desk", full=False))
    assert slim == [original.title, original.link, epoch]
    elsewhere = pack_item(original, "https://b.example/rss", "k2", feed_name="B", full=False)
    extra = {"feed": ["Desk", FEED], "id": original.id}
    assert json.loads(elsewhere) == [original.title, original.link, epoch, extra]
    bare = item(link=None, published=None, guid=None, summary="")
    named = pack_item(bare, FEED, bare.id, feed_name="Old name", full=False)
    assert json.loads(named) == [bare.title, None, None, {"feed": "Desk", "guid": None}]
    full = json.loads(pack_item(original, FEED, original.id, feed_name="Desk"))
    assert full["v"] == 5 and "feed" not in full and "f" not in full
    assert json.loads(pack_item(original, FEED, original.id, feed_name="Old"))["feed"] == "Desk"
    three = json.loads(
        pack_item(original, FEED, original.id, feed_name="Desk", full=False, version=3)
    )
    assert three == {
        "v": 3,
        "title": original.title,
        "feed": "Desk",
        "link": original.link,
        "published": "2026-11-30T07:00:00Z",
        "x": 1,
    }
    with pytest.raises(ValueError, match="format 5 or 3"):
        pack_item(original, version=4)
    for text, it, kept in ((elsewhere, original, False), (named, bare, False)):
        stored = unpack_item(text, "https://b.example/rss" if it is original else FEED, "k2")
        assert stored.full is kept
        assert (stored.item.feed.name, stored.item.guid, stored.item.link) == (
            "Desk",
            it.guid,
            it.link,
        )


def test_format_4_rows_are_still_read():
    """What SQLite schema 17 wrote: objects, slim by default, full ones marked."""
    original = item()
    slim = {"v": 4, "title": original.title, "link": original.link, "published": 1796022000}
    stored = unpack_item(json.dumps(slim), FEED, original.id, "Desk")
    assert not stored.full and stored.item.published == WHEN and stored.item.feed.name == "Desk"
    full = {**slim, "f": 1, "summary": original.summary, "author": "Kim", "lang": "en"}
    full["tags"] = list(original.tags)
    again = unpack_item(json.dumps(full), FEED, original.id, "Desk")
    assert again.full and again.item == original
    assert is_compact(json.dumps(slim, separators=(",", ":")))


@pytest.mark.parametrize(
    "moment",
    [
        WHEN,
        datetime(1969, 7, 20, 20, 17, 40, 500_000, tzinfo=UTC),  # before the epoch
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_dates_are_stored_to_the_second_as_ts_stores_them(moment):
    seconds = epoch_seconds(moment)
    truncated = moment.replace(microsecond=0)
    assert (
        moment_of(seconds)
        == truncated
        == parse_ts(ts_text := truncated.strftime("%Y-%m-%dT%H:%M:%SZ"))
        and moment_of(ts_text) == truncated
    )
    assert moment_of(str(seconds)) == truncated  # PostgreSQL's ->> gives the digits
    assert moment_of(None) is None and moment_of("") is None
    assert moment_of(seconds) - moment_of(seconds - 1) == timedelta(seconds=1)
    if 1970 <= moment.year < 9999:  # naive is local time, as ts reads it
        local = truncated.astimezone().replace(tzinfo=None)
        assert epoch_seconds(local) == epoch_seconds(truncated)


def test_a_slim_item_keeps_what_dedup_history_and_duplicates_read():
    original = item(summary=WORDS * 20, content=WORDS * 50)
    data = pack_item(original, FEED, original.id, full=False)
    stored = unpack_item(data, FEED, original.id)
    assert not stored.full
    kept = stored.item
    assert (kept.feed, kept.id, kept.guid, kept.title, kept.link, kept.published) == (
        original.feed,
        original.id,
        original.guid,
        original.title,
        original.link,
        original.published,
    )
    assert (kept.summary, kept.content, kept.author, kept.tags, kept.lang) == (
        "",
        "",
        None,
        (),
        None,
    )
    # what SQL reads from the value keeps its position and form
    assert json.loads(data)[0] == original.title
    assert moment_of(json.loads(data)[2]) == WHEN


def test_sizes_of_a_stored_item():
    """Format 1 stored every field, spaced, with the feed and the id repeated."""
    typical = item(summary=WORDS * 20)  # 1.5 KB of summary, as many feeds send
    old = json.dumps(
        {
            "feed": [typical.feed.name, typical.feed.url],
            "id": typical.id,
            "title": typical.title,
            "link": typical.link,
            "guid": typical.guid,
            "summary": typical.summary,
            "content": typical.content,
            "published": "2026-11-30T07:00:00Z",
            "author": typical.author,
            "tags": list(typical.tags),
            "lang": typical.lang,
        },
        ensure_ascii=False,
    )
    full = pack_item(typical, FEED, typical.id)
    slim = pack_item(typical, FEED, typical.id, full=False)
    assert len(full) < len(old) / 5  # repeated words compress well; real text about 2x
    assert len(slim) <= len(typical.title) + len(typical.link) + 90  # the date, the keys
    assert len(pack_item(item(summary="Short."), FEED, "urn:story:1")) < 260


def test_rows_of_an_earlier_version_are_read(tmp_path):
    """Every item and match an earlier news-monitor stored (tests/data/upgrade) reads as
    that version's own reader read it."""
    db = tmp_path / "monitor.db"
    shutil.copy(UPGRADE_STATE, db)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT feed_url, item_key, data FROM items").fetchall()
        matches = conn.execute("SELECT rule, data FROM matches").fetchall()
    assert rows and matches
    for feed_url, key, data in rows:
        old = json.loads(data)
        stored = unpack_item(data, feed_url, key)
        assert stored.full
        assert stored.item == Item(
            feed=FeedRef(*old["feed"]),
            id=old["id"],
            title=old["title"],
            link=old["link"],
            guid=old["guid"],
            summary=old["summary"],
            content=old["content"],
            published=parse_ts(old["published"]),
            author=old["author"],
            tags=tuple(old["tags"]),
            lang=old["lang"],
        )
    for rule, data in matches:
        old = json.loads(data)
        match = match_from_json(rule, data)
        assert match.terms == tuple(old["terms"])
        assert match.highlights == tuple(Highlight(*h) for h in old["highlights"])


def test_matches_are_compact_and_read_back():
    match = Match("pp", ("pompeo", "pyongyang"), (Highlight("title", 0, 6, "pompeo"),))
    text = match_to_json(match)
    assert text == '{"terms":["pompeo","pyongyang"],"highlights":[["title",0,6,"pompeo"]]}'
    assert match_from_json("pp", text) == match
    assert match_to_json(Match("pp", ())) == "{}"  # a first-poll baseline match
    assert match_from_json("pp", "{}") == Match("pp", ())
    spaced = '{"terms": ["pompeo"], "highlights": [["summary", 3, 9, "pompeo"]]}'
    assert match_from_json("pp", spaced) == Match(
        "pp", ("pompeo",), (Highlight("summary", 3, 9, "pompeo"),)
    )


def test_long_text_is_raw_deflated_and_format_2_rows_still_read():
    """Format 4 stores long text raw-deflated (no zlib header or checksum) in base64; a
    format 2 row (zlib, what schema 10 wrote) reads back the same item."""
    long = item(summary=WORDS * 40, content="평양에서 " * 300)
    data = json.loads(pack_item(long, FEED, long.id))
    raw = json.dumps([long.summary, long.content], separators=(",", ":"), ensure_ascii=False)
    deflated = zlib.decompress(base64.b64decode(data["z"]), -15)
    assert data["v"] == 5 and deflated.decode() == raw
    format_2 = {**data, "v": 2, "z": base64.b64encode(zlib.compress(raw.encode(), 6)).decode()}
    assert len(data["z"]) <= len(format_2["z"]) - 8
    text = json.dumps(format_2, separators=(",", ":"), ensure_ascii=False)
    assert is_compact(text) and unpack_item(text, FEED, long.id).item == long
    assert not is_compact('{"feed": ["Desk", "x"], "id": "1"}')  # format 1


def test_text_hashes_are_signed_64_bit_and_stable():
    hashes = {text_hash(f"key-{n}") for n in range(10_000)}
    assert len(hashes) == 10_000
    assert all(-(2**63) <= h < 2**63 for h in hashes)
    assert any(h < 0 for h in hashes) and any(h > 0 for h in hashes)
    assert text_hash(None) is None
    assert text_hash("urn:story:1") == 7697004531367283150  # stored in databases: never changes
    assert isinstance(text_hash("\udcff lone surrogate"), int)  # keys as feeds write them


def test_content_hashes_are_kept_short_on_sqlite_and_still_compare():
    """SQLite keeps a content hash's first 8 bytes; an edit check compares its hex with
    the hex a row of an earlier version kept, the short form, and nothing else."""
    digest = content_hash(item())
    short = stored_hash(digest, short=True)
    assert short == bytes.fromhex(digest)[:8] and stored_hash(digest, short=False) == digest
    assert stored_hash("h", short=True) == "h"  # not a hash of ours: kept as it is
    assert stored_hash("zz" * 12, short=True) == "zz" * 12
    for kept in (read_hash(short), read_hash(digest)):
        assert same_content(digest, kept)
        assert not same_content(content_hash(item(title="Edited")), kept)
    assert not same_content(digest, None) and not same_content(digest, digest[:15])
    assert read_hash(None) is None
