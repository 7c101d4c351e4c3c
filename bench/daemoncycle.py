"""The daemon's steady cycle, for bench/peers.py (``--daemon-cycles N``).

bench/peers.py measures ours as rss2email runs: one ``run --once`` process per cycle,
which pays the interpreter, the imports, the config, the near-duplicate index, numpy
and a parse worker every time. The product runs as a daemon (systemd), which pays them
once. This measures that: ``news-monitor run`` (the daemon) on the state the one-shot
cycles left, polling every feed every ``INTERVAL_S`` seconds; after its first round (not
measured), N server cycles, each switched as soon as every feed was served once in the
cycle before (bench/pollserver.py's ``/_served``), then the last cycle's digest.

CPU is the process tree's (``/proc/PID/stat``: user + system of every live process in
the tree and of the children each has reaped), read before the first switch and after
the last digest, divided by N: a cycle's polls, matching, recording and digest, and
the daemon's idle time (scheduler, sweeps) between them. Polls beyond one per feed and
cycle (the 10 % jitter lets a feed be polled twice in a cycle: a 304) are counted in
``requests`` and left in, so the figure errs high. Memory is the tree's peak RSS,
sampled every ``SAMPLE_SECONDS``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from pollserver import served, set_cycle

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.5
ROUND_TIMEOUT = 180.0  # seconds a round or a digest may take before the bench gives up
# Every feed's poll interval, in bench/peers.py's config too: a daemon polls a feed at
# its stored next poll, which the one-shot runs before it set to their interval.
INTERVAL_S = 20


def tree_cpu_s(pid: int, children: Callable[[], dict[int, list[int]]]) -> float:
    """CPU seconds (user + system) of ``pid``'s tree: every live process in it, plus the
    children each has waited for (``cutime``/``cstime``, proc(5))."""
    kids, todo, ticks = children(), [pid], 0
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / CLOCK_TICKS


def daemon_config(once_config: Path) -> Path:
    """A daemon config beside ``once_config`` (the same state, feeds, interval, rule and
    channel), the channel's alerts grouped for 5 s so a round's alerts go out in about
    one message."""
    config = yaml.safe_load(once_config.read_text())
    for channel in config["channels"].values():
        channel["group_wait"] = "5s"
    path = once_config.with_name("daemon.yaml")
    path.write_text(yaml.safe_dump(config))
    return path


def _wait(what: str, done: Callable[[], bool], proc: subprocess.Popen, tick: Callable) -> None:
    deadline = time.monotonic() + ROUND_TIMEOUT
    while not done():
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited {proc.returncode} waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        tick()
        time.sleep(SAMPLE_SECONDS)


def measure_daemon(
    side,
    base: str,
    feeds: int,
    first_cycle: int,
    cycles: int,
    expected: int,
    delivered: Callable[[], tuple[int, int]],
    tree_rss_mb: Callable[[int], tuple[float, float]],
    children: Callable[[], dict[int, list[int]]],
) -> dict:
    """Run our daemon on ``side``'s state for ``cycles`` server cycles from ``first_cycle``.

    ``delivered()`` is how many messages and distinct item links the sink has received
    for ours since the call before the run; ``expected`` is the new entries of the
    measured cycles, all of which the daemon must mail before the run ends. Returns
    ``cpu_s`` (per cycle), ``tree_rss_mb``/``largest_rss_mb`` (peaks over the run,
    start-up included), ``requests`` (feed requests served per cycle), ``messages``
    (per cycle) and ``items`` (mailed in all). Raises RuntimeError if the daemon exits
    or a round stalls.
    """
    config = daemon_config(side.root / "monitor.yaml")
    cmd = [*side.cmd[: side.cmd.index("run") + 1], "--config", config.name]
    peak = largest = 0.0
    with open(side.log, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, env=side.env, cwd=side.root, stdout=out, stderr=out)

        def sample() -> None:
            nonlocal peak, largest
            tree, one = tree_rss_mb(proc.pid)
            peak, largest = max(peak, tree), max(largest, one)

        try:
            set_cycle(base, first_cycle)
            _wait("the first round", lambda: served(base)[0] >= feeds, proc, sample)
            start, requests = tree_cpu_s(proc.pid, children), 0
            for cycle in range(first_cycle + 1, first_cycle + cycles + 1):
                if cycle > first_cycle + 1:
                    requests += served(base)[1]
                set_cycle(base, cycle)
                _wait(f"cycle {cycle}'s round", lambda: served(base)[0] >= feeds, proc, sample)
            _wait("the digests", lambda: delivered()[1] >= expected, proc, sample)
            end, requests = tree_cpu_s(proc.pid, children), requests + served(base)[1]
            messages, items = delivered()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {
        "cycles": cycles,
        "interval": yaml.safe_load(config.read_text())["defaults"]["interval"],
        "cpu_s": round((end - start) / cycles, 3),
        "tree_rss_mb": round(peak, 1),
        "largest_rss_mb": round(largest, 1),
        "requests": round(requests / cycles, 1),
        "messages": round(messages / cycles, 2),
        "items": items,
    }
