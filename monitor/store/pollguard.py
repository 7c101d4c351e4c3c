"""Polls that started and never finished, counted per feed (issue #14).

A poll that is killed mid-way (systemd's watchdog, the OOM killer, a crash) leaves its
items unseen, so the next start polls the same document again; if that poll is what
gets the daemon killed, it would run again after every restart, forever. So the heavy
part of a poll is bracketed: :func:`watching` adds one to the feed's
``unfinished_polls`` (committed before the work starts) and sets it back to 0 once the
poll has an outcome (success or a recorded failure). A count that reaches
:data:`LIMIT` means the last polls all died mid-way: :mod:`monitor.pipeline` then
records a failure and backs the feed off instead of polling it
(:func:`allow_one_more` leaves room for exactly one more try after the back-off).
A poll cancelled at shutdown also counts: it did not finish either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from monitor.store.sqlite import Store

__all__ = ["LIMIT", "allow_one_more", "unfinished", "watching"]

LIMIT = 3  # polls in a row that started and never finished


def unfinished(store: Store, url: str) -> int:
    """How many polls of feed ``url`` in a row started and never finished."""
    row = store.conn.execute("SELECT unfinished_polls FROM feeds WHERE url = ?", (url,)).fetchone()
    return row[0] if row else 0


@contextmanager
def watching(store: Store, url: str, name: str) -> Iterator[None]:
    """Count a poll of feed ``url`` as unfinished until the block ends, with a result
    or with an ordinary exception (a failure the caller records). Cancellation, exit
    and a killed process leave it counted."""
    with store.transaction():
        store._ensure_feed(url, name)  # the feed's row, as a poll's record makes it
        store.conn.execute(
            "UPDATE feeds SET unfinished_polls = unfinished_polls + 1 WHERE url = ?", (url,)
        )
    try:
        yield
    except Exception:
        _finished(store, url)
        raise
    _finished(store, url)


def allow_one_more(store: Store, url: str) -> None:
    """After a back-off for unfinished polls: one more unfinished poll reaches the limit
    again (rather than three more)."""
    with store.transaction():
        store.conn.execute("UPDATE feeds SET unfinished_polls = ? WHERE url = ?", (LIMIT - 1, url))


def _finished(store: Store, url: str) -> None:
    with store.transaction():
        store.conn.execute("UPDATE feeds SET unfinished_polls = 0 WHERE url = ?", (url,))
