"""Entry signatures (ingest/changes.py): what a poll leaves out of the parse."""

from __future__ import annotations

import base64

from monitor.ingest.changes import select_changed, signature_count, signature_set


def rss(*items: tuple[str, str]) -> bytes:
    """An RSS document with ``(guid, title)`` items."""
    blocks = b"".join(
        b"<item><guid>%s</guid><title>%s</title></item>\n" % (g.encode(), t.encode())
        for g, t in items
    )
    return b"<rss><channel><title>t</title>\n" + blocks + b"</channel></rss>"


def test_only_new_and_edited_entries_are_parsed():
    first = select_changed(rss(("a", "A"), ("b", "B")), None)
    assert (first.entries, first.changed) == (2, 2) and signature_count(first.signatures) == 2
    later = select_changed(rss(("c", "C"), ("a", "A"), ("b", "B2")), first.signatures)
    assert (later.entries, later.changed) == (3, 2)
    assert b"<guid>c</guid>" in later.body and b"<guid>b</guid>" in later.body
    assert b"<guid>a</guid>" not in later.body
    assert later.ids == ("c", "a", "b")  # every entry's id, for story folding
    same = select_changed(rss(("c", "C"), ("a", "A"), ("b", "B2")), later.signatures)
    assert (same.body, same.changed) == (None, 0) and same.signatures == later.signatures


def test_an_entry_that_moves_in_the_document_is_still_known():
    first = select_changed(rss(("a", "A"), ("b", "B")), None)
    moved = select_changed(rss(("b", "B"), ("a", "A")), first.signatures)
    assert (moved.body, moved.changed) == (None, 0)


def test_damaged_signatures_mean_parse_everything():
    body = rss(("a", "A"), ("b", "B"))
    for kept in ("not base64!", "{not json", "[1, 2]", "", None):
        again = select_changed(body, kept)
        assert (again.body, again.changed) == (body, 2), kept
        assert signature_set(kept) == set()


def test_a_signature_is_eight_bytes_an_entry():
    sigs = select_changed(rss(*[(f"g{n}", "t") for n in range(30)]), None).signatures
    assert len(base64.b64decode(sigs)) == 240 and len(sigs) == 320
    assert len(signature_set(sigs)) == 30


def test_an_unsure_scan_parses_the_whole_body_and_keeps_no_signature():
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'
    unsure = select_changed(body, None)
    assert (unsure.body, unsure.signatures, unsure.entries) == (body, "", -1)
