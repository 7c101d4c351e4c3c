"""A pool of worker processes that run jobs under a wall-clock and a memory limit.

feedparser can be driven into quadratic regexes (its issue #562), entity expansion
and exceptions instead of ``bozo`` (#599). :class:`ParsePool` runs jobs in worker
processes (fresh ``python -c`` processes running
:func:`monitor.ingest.workerloop.serve`, which imports neither asyncio nor this
module, speaking pickles over pipes), each limited by ``RLIMIT_AS``. A job that
runs past its timeout has its worker killed and replaced; the other workers and
their jobs carry on. A job that needs more address space than the pool's workers
have runs in a one-off worker.

The pool is sized to the work (a worker is ~25 MB resident and ~0.1 s of CPU to
start): none until the first job; one while jobs find it free; another (up to
``workers``) only once a job is waiting while a running one has taken
:data:`GROW_AFTER` seconds, as behind a hostile feed that runs to its timeout or a
very large feed. A queue of quick jobs (a first poll of many feeds) stays on one
worker: on two cores the daemon keeps the other busy, and a second worker cost ~26 MB
at the peak for ~15 % of the first poll's wall time (500 bench feeds: 133 → 107 MiB,
6.4–7.0 → 7.9 s). A worker idle for :data:`IDLE_SECONDS` exits, and is started again
when needed.
Failures are :class:`ParseError`; those of the limits are :class:`ParseLimitError`:
``"parse timed out after Ns"``, ``"parse ran out of memory"``, ``"parse worker died"``.

What the jobs are, and how their limits follow the body's size, is
:mod:`monitor.ingest.parseworker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

from monitor.errors import ParseError

__all__ = ["ParseLimitError", "ParsePool"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_MB = 512
DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
# A running job this old (seconds) lets a waiting job start another worker. A job runs
# until the daemon has read its answer, and a busy daemon (its loop shares the GIL with
# the match and store threads) reads answers late: with 0.25 s a first poll of
# bench/peers' feeds (~30 ms of parse each) started a second worker in most runs on a
# slow shared machine (+26 MiB at the peak and its start-up's CPU, for no gain: the
# daemon's threads are the other core's work). A hostile feed that runs to its timeout
# still gets a second worker for the rest after a second.
GROW_AFTER = 1.0
IDLE_SECONDS = 60.0  # a worker idle this long exits


class ParseLimitError(ParseError):
    """A parse stopped by a limit (time, memory) or whose worker died: not "not a feed"."""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.idle_since = 0.0  # loop time it was last given back

    @classmethod
    async def start(cls, memory_bytes: int) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            f"from monitor.ingest.workerloop import serve; serve({memory_bytes})",
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
    """Worker processes for parse jobs, at most ``workers``; see the module docstring."""

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        *,
        memory_mb: int = DEFAULT_MEMORY_MB,
        timeout: float = DEFAULT_TIMEOUT,
        grow_after: float = GROW_AFTER,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.size = max(1, workers)
        self.memory_bytes = memory_mb * 1024 * 1024
        self.timeout = timeout
        self.grow_after = grow_after
        self.idle_seconds = idle_seconds
        self._idle: list[_Worker] = []  # started and free, the most recently used last
        self._slots = 0  # workers running a job, free, or being started (<= size)
        self._started: dict[object, float] = {}  # loop time each running job reached its worker
        self._waiters: list[asyncio.Future[None]] = []  # jobs waiting for a slot
        self._all: set[_Worker] = set()
        self._retiring: asyncio.TimerHandle | None = None
        self._stopping: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the workers belong to

    def _follow_loop(self) -> None:
        """Forget workers started on another (closed) event loop: their pipes belong to
        it, so they are killed by pid and replaced (a pool reused by successive
        ``asyncio.run`` calls, as tests and embedding programs do; the daemon and
        ``run --once`` have one loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        for worker in self._all:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGKILL)
            # Its transport cannot close on a closed loop: mark it closed, so that
            # garbage collection does not try (and warn).
            transport = getattr(worker.process, "_transport", None)
            if transport is not None:
                transport._closed = True
        self._all.clear()
        self._idle.clear()
        self._waiters.clear()
        self._stopping.clear()
        self._started.clear()
        self._slots = 0
        self._retiring = None
        self._loop = loop

    async def _spawn(self) -> _Worker:
        worker = await _Worker.start(self.memory_bytes)
        self._all.add(worker)
        return worker

    async def _acquire(self) -> _Worker | None:
        """A free worker, else None: a slot to start one in (see the module docstring)."""
        loop = asyncio.get_running_loop()
        while True:
            if self._idle:
                return self._idle.pop()
            grow_at = min(self._started.values(), default=loop.time()) + self.grow_after
            if self._slots < self.size and (not self._slots or loop.time() >= grow_at):
                self._slots += 1
                return None
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(grow_at if self._slots < self.size else None):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._waiters.remove(waiter)

    def _release(self, worker: _Worker | None) -> None:
        """Give a slot back: ``worker`` free for the next job, or None (gone, not started)."""
        loop = asyncio.get_running_loop()
        if worker is None:
            self._slots -= 1
        else:
            worker.idle_since = loop.time()
            self._idle.append(worker)
            if self._retiring is None:
                self._retiring = loop.call_later(self.idle_seconds, self._retire)
        for waiter in self._waiters:  # each checks again; the oldest runs first
            if not waiter.done():
                waiter.set_result(None)

    def _retire(self) -> None:
        """Stop the workers idle for ``idle_seconds``; check again when the next one is due."""
        loop = asyncio.get_running_loop()
        self._retiring = None
        now = loop.time()
        for worker in [w for w in self._idle if now - w.idle_since >= self.idle_seconds]:
            self._idle.remove(worker)
            self._all.discard(worker)
            self._slots -= 1
            task = loop.create_task(_stop(worker))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        if self._idle:
            due = min(w.idle_since for w in self._idle) + self.idle_seconds
            self._retiring = loop.call_at(due, self._retire)

    async def run(
        self,
        func: Callable[..., Any],
        *args: Any,
        timeout: float | None = None,
        memory_bytes: int | None = None,
    ) -> Any:
        """``func(*args)`` in a worker (both picklable); raise ParseError on failure.

        ``timeout`` (seconds, counted once a worker runs the job) defaults to the
        pool's. ``memory_bytes`` above the pool's own limit runs the job in a one-off
        worker with that ``RLIMIT_AS`` (it still takes one of the pool's slots, so no
        more jobs run at once). Limits hit raise :class:`ParseLimitError`.
        """
        self._follow_loop()
        limit = self.timeout if timeout is None else timeout
        memory = self.memory_bytes
        if memory_bytes and memory > 0 and memory_bytes > memory:
            memory = memory_bytes
        worker = await self._acquire()
        if memory != self.memory_bytes:
            try:
                status, value = await self._run_once(func, args, limit, memory)
            finally:
                self._release(worker)
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
            self._release(worker)
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
        """``func(*args)`` in ``worker``, within ``limit`` seconds. While it runs, its
        start counts for :meth:`_acquire` (a worker's own start-up does not)."""
        job = object()
        self._started[job] = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(limit):
                return await worker.call(func, args)
        except TimeoutError:
            raise ParseLimitError(f"parse timed out after {limit:g}s") from None
        except (asyncio.IncompleteReadError, ConnectionError):
            code = await worker.process.wait()
            reason = "ran out of memory" if code == -signal.SIGKILL else "died"
            raise ParseLimitError(f"parse worker {reason} (exit code {code})") from None
        finally:
            del self._started[job]

    def pids(self) -> list[int]:
        """The process ids of the running workers (for metrics and benchmarks)."""
        return [w.process.pid for w in self._all if w.process.returncode is None]

    async def close(self) -> None:
        """Stop every worker."""
        if self._retiring is not None:
            self._retiring.cancel()
            self._retiring = None
        await asyncio.gather(*(_stop(w) for w in list(self._all)), *self._stopping)
        self._all.clear()
        self._idle.clear()
        self._slots = 0


async def _stop(worker: _Worker) -> None:
    """End ``worker``: its input closed (it exits at end of input), killed after 2 s."""
    if worker.process.stdin:
        worker.process.stdin.close()
    try:
        async with asyncio.timeout(2):
            await worker.process.wait()
    except TimeoutError:
        pass
    await worker.kill()
