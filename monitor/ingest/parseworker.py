"""Parsing in worker processes with a wall-clock limit and a memory limit.

feedparser can be driven into quadratic regexes (its issue #562), entity expansion
and exceptions instead of ``bozo`` (#599). :class:`ParsePool` runs jobs in a few
long-lived worker processes (fresh ``python -c`` processes speaking pickles over
pipes), each limited by ``RLIMIT_AS``. A job that runs past its timeout has its
worker killed and replaced; the other workers and their jobs carry on. Failures are
:class:`ParseError`; those of the limits are :class:`ParseLimitError`:
``"parse timed out after Ns"``, ``"parse ran out of memory"``, ``"parse worker died"``.

The limits grow with the body, so that raising ``defaults.max_bytes`` is enough to
read a big feed: the deadline is the pool's (``ingest.parse_timeout``) plus
:data:`SECONDS_PER_MIB` for each MiB beyond :data:`FREE_MIB` (:func:`parse_deadline`),
and a body that needs more address space than the pool's workers have
(:func:`parse_memory_limit`) is parsed in a one-off worker with a larger limit. Both
are measured numbers with a margin (docs/feeds.md, "Limits").

    pool = ParsePool(workers=2, memory_mb=512)
    parsed = await parse_isolated(body, url, content_type, timeout=10, pool=pool)
    changed = await parse_changed_isolated(body, url, ctype, feed_ref, now, old_sigs, pool=pool)
    await pool.close()

Without ``pool=``, a process-wide default pool (:func:`default_pool`) is used.
"""

from __future__ import annotations

import asyncio
import math
import os
import pickle
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.errors import ParseError
from monitor.ingest.changes import select_changed
from monitor.ingest.normalize import normalize_feed
from monitor.ingest.parse import ParsedFeed, parse_feed
from monitor.models import FeedRef, Item

DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_MB = 512
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
MIB = 1024 * 1024
# Parse deadline for big bodies. Measured (2 shared cores, feedparser 6, CPU time of
# the worker's job): 0.17-0.42 s per MiB for 26 MiB feeds of ~5 KB items (5,000-6,600
# items), 0.54-0.61 s per MiB for ~600-byte items (23-26 MiB, 40,000-57,000 items).
# 2 s per MiB is ~3.5x the slowest.
SECONDS_PER_MIB = 2.0
FREE_MIB = 4  # the first MiB are covered by the configured deadline alone
# Address space for big bodies. Measured peak (VmPeak of a worker): ~45 MB plus 4.9-8.5
# MB per MiB of body for ~5 KB items (171-265 MB at 26 MiB), up to 12.7-13.6 MB per
# MiB for ~600-byte items (376 MB at 26 MiB). 32 bytes per byte is ~2.3x the heaviest.
MEMORY_FIXED_BYTES = 64 * MIB
MEMORY_PER_BODY_BYTE = 32


class ParseLimitError(ParseError):
    """A parse stopped by a limit (time, memory) or whose worker died: not "not a feed"."""


def parse_deadline(size_bytes: int, base_seconds: float) -> float:
    """The wall-clock limit, in seconds, to parse a body of ``size_bytes`` bytes.

    ``base_seconds`` (``ingest.parse_timeout``) covers the first :data:`FREE_MIB`
    MiB; every MiB beyond adds :data:`SECONDS_PER_MIB` (rounded up to whole
    seconds), about three times feedparser's slowest measured rate, so that the one
    size limit (``defaults.max_bytes``) decides which feeds can be read.
    """
    beyond = size_bytes / MIB - FREE_MIB
    if beyond <= 0:
        return base_seconds
    return base_seconds + math.ceil(SECONDS_PER_MIB * beyond)


def parse_memory_limit(size_bytes: int, base_bytes: int) -> int:
    """The address-space limit (``RLIMIT_AS``, bytes) to parse ``size_bytes`` bytes.

    At least ``base_bytes`` (``ingest.parse_memory_mb``); a body that needs more
    (:data:`MEMORY_FIXED_BYTES` plus :data:`MEMORY_PER_BODY_BYTE` per byte, about
    2.3 times the heaviest measured peak) gets that. ``base_bytes`` <= 0 means no limit (kept).
    """
    if base_bytes <= 0:
        return base_bytes
    return max(base_bytes, MEMORY_FIXED_BYTES + MEMORY_PER_BODY_BYTE * size_bytes)


def serve(memory_bytes: int) -> None:
    """The loop of one worker process: read (func, args) on stdin, answer on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by a library goes to stderr, not into the protocol
    while True:
        head = reader.read(8)
        if len(head) < 8:
            return
        func, args = pickle.loads(reader.read(int.from_bytes(head, "big")))
        try:
            answer: tuple[str, Any] = ("ok", func(*args))
        except MemoryError:
            answer = ("oom", None)
        except ParseError as exc:  # parse_feed wraps what feedparser raised, MemoryError too
            oom = isinstance(exc.__context__, MemoryError)
            answer = ("oom", None) if oom else ("parse", str(exc))
        except Exception as exc:
            answer = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            answer, data = ("oom", None), pickle.dumps(("oom", None))
        writer.write(len(data).to_bytes(8, "big") + data)
        writer.flush()
        if answer[0] == "oom":
            return  # a worker that hit its limit may be in a bad state: start afresh


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, memory_bytes: int) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            f"from monitor.ingest.parseworker import serve; serve({memory_bytes})",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def call(self, func: Callable[..., Any], args: tuple) -> tuple[str, Any]:
        assert self.process.stdin and self.process.stdout
        data = pickle.dumps((func, args), protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.write(len(data).to_bytes(8, "big") + data)
        await self.process.stdin.drain()
        head = await self.process.stdout.readexactly(8)
        return pickle.loads(await self.process.stdout.readexactly(int.from_bytes(head, "big")))

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


class ParsePool:
    """A few worker processes for parse jobs; see the module docstring."""

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        *,
        memory_mb: int = DEFAULT_MEMORY_MB,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.size = max(1, workers)
        self.memory_bytes = memory_mb * 1024 * 1024
        self.timeout = timeout
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._all: set[_Worker] = set()

    def _queue(self) -> asyncio.Queue[_Worker | None]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                self._idle.put_nowait(None)  # started on first use
        return self._idle

    async def _spawn(self) -> _Worker:
        worker = await _Worker.start(self.memory_bytes)
        self._all.add(worker)
        return worker

    async def run(
        self,
        func: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,
        memory_bytes: int | None = None,
    ) -> Any:
        """``func(*args)`` in a worker (both picklable); raise ParseError on failure.

        ``timeout`` (seconds) defaults to the pool's. ``memory_bytes`` above the
        pool's own limit runs the job in a one-off worker with that ``RLIMIT_AS``
        (it still takes one of the pool's slots, so no more jobs run at once).
        Limits hit raise :class:`ParseLimitError`.
        """
        idle = self._queue()
        limit = self.timeout if timeout is None else timeout
        memory = self.memory_bytes
        if memory_bytes and memory > 0 and memory_bytes > memory:
            memory = memory_bytes
        worker = await idle.get()
        if memory != self.memory_bytes:
            try:
                status, value = await self._run_once(func, args, limit, memory)
            finally:
                idle.put_nowait(worker)
            return self._answer(status, value, memory)
        healthy = False
        try:
            worker = worker or await self._spawn()
            status, value = await self._call(worker, func, args, limit)
            healthy = status != "oom"
        finally:
            if not healthy and worker is not None:
                self._all.discard(worker)
                await asyncio.shield(worker.kill())
                worker = None
            idle.put_nowait(worker)
        return self._answer(status, value, memory)

    async def _run_once(
        self, func: Callable[..., Any], args: tuple, limit: float, memory: int
    ) -> tuple[str, Any]:
        """One job in a worker of its own with ``memory`` bytes of address space."""
        worker = await _Worker.start(memory)
        self._all.add(worker)
        try:
            return await self._call(worker, func, args, limit)
        finally:
            self._all.discard(worker)
            await asyncio.shield(worker.kill())

    @staticmethod
    def _answer(status: str, value: Any, memory: int) -> Any:
        if status == "ok":
            return value
        if status == "oom":
            raise ParseLimitError(f"parse ran out of memory (limit {memory >> 20} MB)")
        if status == "parse":
            raise ParseError(value)
        raise ParseError(f"parse failed: {value}")

    async def _call(
        self, worker: _Worker, func: Callable[..., Any], args: tuple, limit: float
    ) -> tuple[str, Any]:
        try:
            async with asyncio.timeout(limit):
                return await worker.call(func, args)
        except TimeoutError:
            raise ParseLimitError(f"parse timed out after {limit:g}s") from None
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await worker.process.wait()
            reason = "ran out of memory" if code == -signal.SIGKILL else "died"
            raise ParseLimitError(f"parse worker {reason} (exit code {code})") from None

    def pids(self) -> list[int]:
        """The process ids of the running workers (for metrics and benchmarks)."""
        return [w.process.pid for w in self._all if w.process.returncode is None]

    async def close(self) -> None:
        """Stop every worker."""
        for worker in list(self._all):
            if worker.process.stdin:
                worker.process.stdin.close()
        for worker in list(self._all):
            try:
                async with asyncio.timeout(2):
                    await worker.process.wait()
            except TimeoutError:
                pass
            await worker.kill()
        self._all.clear()
        self._idle = None


@dataclass(frozen=True)
class ChangedFeed:
    """What :func:`parse_changed_isolated` found: signatures to keep, and the parsed entries.

    ``meta`` is None when no entry changed (nothing was parsed); ``entries`` and
    ``changed`` are -1 when the pre-scan was unsure (the whole body was parsed).
    """

    signatures: dict[str, str]
    entries: int
    changed: int
    meta: ParsedFeed | None = None
    items: list[Item] = field(default_factory=list)


def _parse_job(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    return parse_feed(body, url, content_type)  # its entries are plain dicts already


def _items_job(
    body: bytes, url: str, content_type: str | None, feed: FeedRef, now: datetime
) -> tuple[ParsedFeed, list[Item]]:
    parsed = parse_feed(body, url, content_type)
    items = normalize_feed(parsed, feed, now)
    meta = ParsedFeed(parsed.title, parsed.language, [], parsed.warning, parsed.ttl_minutes)
    return meta, items


def _changed_job(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    previous: dict[str, str] | None,
) -> ChangedFeed:
    """Select the new or edited entries of ``body`` and parse them into Items."""
    selection = select_changed(body, previous)
    if selection.body is None:
        return ChangedFeed(selection.signatures, selection.entries, 0)
    meta, items = _items_job(selection.body, url, content_type, feed, now)
    return ChangedFeed(selection.signatures, selection.entries, selection.changed, meta, items)


_default: ParsePool | None = None


def default_pool() -> ParsePool:
    """The process-wide pool used when no ``pool`` is passed."""
    global _default
    if _default is None:
        _default = ParsePool()
    return _default


def scaled_limits(pool: ParsePool, size_bytes: int, timeout: float | None = None) -> dict[str, Any]:
    """:meth:`ParsePool.run`'s ``timeout`` and ``memory_bytes`` for a job reading
    ``size_bytes`` bytes: the pool's limits scaled by :func:`parse_deadline` and
    :func:`parse_memory_limit` (an explicit ``timeout``, in seconds, is kept).
    """
    deadline = parse_deadline(size_bytes, pool.timeout) if timeout is None else timeout
    return {"timeout": deadline, "memory_bytes": parse_memory_limit(size_bytes, pool.memory_bytes)}


async def parse_isolated(
    body: bytes,
    url: str,
    content_type: str | None = None,
    *,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> ParsedFeed:
    """:func:`parse_feed` in a worker; entries are plain dicts (see ``slim_entry``).

    Without ``timeout`` (seconds) the deadline grows with the body
    (:func:`parse_deadline`); the memory limit always does (:func:`parse_memory_limit`).
    Raises ParseError (ParseLimitError for a limit).
    """
    pool = pool or default_pool()
    limits = scaled_limits(pool, len(body), timeout)
    return await pool.run(_parse_job, body, url, content_type, **limits)


async def parse_items_isolated(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    *,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> tuple[ParsedFeed, list[Item]]:
    """The feed's metadata (no entries) and its normalized Items, parsed in a worker.

    What ``news-monitor fetch`` and ``test-rule`` read: the daemon's parse and
    normalization, with the same limits as :func:`parse_isolated`.
    """
    pool = pool or default_pool()
    limits = scaled_limits(pool, len(body), timeout)
    return await pool.run(_items_job, body, url, content_type, feed, now, **limits)


async def parse_changed_isolated(
    body: bytes,
    url: str,
    content_type: str | None,
    feed: FeedRef,
    now: datetime,
    previous: dict[str, str] | None,
    *,
    timeout: float | None = None,
    pool: ParsePool | None = None,
) -> ChangedFeed:
    """In a worker: the pre-scan and entry signatures
    (:func:`~monitor.ingest.changes.select_changed`), then the parse of what changed.

    ``previous`` is the entry signatures kept from the last poll. The limits grow
    with the size of ``body`` as in :func:`parse_isolated` (the daemon passes no
    ``timeout``).
    """
    pool = pool or default_pool()
    limits = scaled_limits(pool, len(body), timeout)
    return await pool.run(_changed_job, body, url, content_type, feed, now, previous, **limits)
