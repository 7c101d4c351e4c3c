"""The parse pool is sized to the work (issue 18, memory): real worker processes.

A worker costs ~25 MB resident, so the pool starts none until a job comes, reuses a
free one rather than starting another, starts a second only once a job is waiting
while a running one has taken ``grow_after`` seconds, and stops a worker idle for
``idle_seconds``.
Each job here returns the process id of the worker that ran it.
"""

from __future__ import annotations

import asyncio
import os
import time

from monitor.ingest.workerpool import ParsePool
from tests.conftest import with_pool


def test_no_worker_until_a_job_and_jobs_one_after_another_share_one():
    async def go(pool):
        before = pool.pids()
        return before, [await pool.run(os.getpid) for _ in range(4)], pool.pids()

    before, pids, running = with_pool(go, workers=2)
    assert before == [] and len(set(pids)) == 1 and running == pids[:1]


def test_jobs_at_once_share_one_worker_until_a_running_one_has_taken_long_enough():
    async def go(pool):
        return await asyncio.gather(*(pool.run(os.getpid) for _ in range(4)))

    patient = with_pool(go, workers=2, grow_after=3600)
    eager = with_pool(go, workers=2, grow_after=0)
    assert len(set(patient)) == 1
    assert len(set(eager)) == 2 and os.getpid() not in eager


def nap(seconds: float) -> int:
    """A job: sleep ``seconds``, then the worker's process id."""
    time.sleep(seconds)
    return os.getpid()


def test_a_queue_of_quick_jobs_stays_on_one_worker_a_slow_job_starts_a_second():
    """Growth follows a slow job (a hostile or huge feed), not a long queue: 150 10 ms
    jobs at once (the last waits ~1.5 s, more than ``grow_after``) run on one worker;
    behind a job that sleeps, the others move to a second worker and finish first.

    The quick jobs run on a worker that already ran one (its first job imports this
    module, which under load took longer than a short ``grow_after``), and each is 50
    times shorter than ``grow_after``, so a loaded machine does not make one slow."""

    async def quick(pool):
        first = await pool.run(nap, 0)
        return [first, *await asyncio.gather(*(pool.run(nap, 0.01) for _ in range(150)))]

    async def behind_a_slow_one(pool):
        slow = asyncio.create_task(pool.run(nap, 3))
        await asyncio.sleep(0.3)  # the slow job holds the first worker
        pids = await asyncio.gather(*(pool.run(nap, 0) for _ in range(5)))
        return slow.done(), pids, await slow

    assert len(set(with_pool(quick, workers=2, grow_after=0.5))) == 1
    slow_done_first, pids, slow_pid = with_pool(behind_a_slow_one, workers=2, grow_after=0.2)
    assert not slow_done_first and len(set(pids)) == 1 and slow_pid not in pids


def test_an_idle_worker_stops_and_a_new_one_starts_for_the_next_job():
    async def go(pool: ParsePool):
        first = await pool.run(os.getpid)
        for _ in range(1000):  # the retirement runs on the loop soon after the job
            if not pool.pids():
                break
            await asyncio.sleep(0.01)
        stopped = pool.pids() == []
        return first, stopped, await pool.run(os.getpid)

    first, stopped, second = with_pool(go, workers=1, idle_seconds=0)
    assert stopped and second != first
