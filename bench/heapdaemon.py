"""The daemon with its heap watched (``bench/soak.py --heap``; not in CI).

Runs ``python -m monitor ARGS…`` in this process, and every ``SOAK_HEAP_EVERY`` seconds
(default 60) appends one JSON line to ``SOAK_HEAP_LOG``: the Python heap
(``sys.getallocatedblocks``), the objects the garbage collector tracks, by type for the
ten most numerous, and glibc's own account (``mallinfo2``: bytes in use, bytes free but
kept, mmapped bytes, arenas). RSS that grows while the Python heap stays flat is
the allocator's (free memory it keeps); growth in the heap is ours. With
``SOAK_TRACEMALLOC=1`` it also traces allocations and writes the 25 lines whose
memory grew most since the first sample after ``SOAK_HEAP_WARMUP`` seconds.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import runpy
import sys
import threading
import time
import tracemalloc

from monitor.service.memory import _libc


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc 2.33+), every field a ``size_t``."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def mallinfo() -> dict[str, int]:
    """glibc's heap account in KiB: in use, free but kept, mmapped; {} without glibc."""
    libc = _libc()  # the daemon's own handle on glibc (monitor/service/memory.py)
    if libc is None or not hasattr(libc, "mallinfo2"):
        return {}
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return {
        "arena_kib": info.arena // 1024,
        "in_use_kib": info.uordblks // 1024,
        "free_kib": info.fordblks // 1024,
        "mmap_kib": info.hblkhd // 1024,
    }


def watch(path: str, every: float, warmup: float, trace: bool) -> None:
    """Append a heap sample to ``path`` every ``every`` seconds, forever."""
    started = time.monotonic()
    base: tracemalloc.Snapshot | None = None
    while True:
        time.sleep(every)
        t = time.monotonic() - started
        counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
        row: dict = {
            "t": round(t),
            "blocks": sys.getallocatedblocks(),
            "gc_objects": sum(counts.values()),
            "types": dict(counts.most_common(10)),
            "threads": threading.active_count(),
            **mallinfo(),
        }
        if trace:
            row["traced_kib"] = tracemalloc.get_traced_memory()[0] // 1024
            if base is None and t >= warmup:
                base = tracemalloc.take_snapshot()
            elif base is not None:
                stats = tracemalloc.take_snapshot().compare_to(base, "lineno")[:25]
                row["grew"] = [
                    f"{s.size_diff // 1024:+} KiB {s.count_diff:+} {s.traceback}" for s in stats
                ]
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")


def main() -> None:
    """Start the watcher thread, then run the daemon as ``python -m monitor`` would."""
    trace = os.environ.get("SOAK_TRACEMALLOC") == "1"
    if trace:
        tracemalloc.start(1)
    every = float(os.environ.get("SOAK_HEAP_EVERY", "60"))
    warmup = float(os.environ.get("SOAK_HEAP_WARMUP", "600"))
    args = (os.environ["SOAK_HEAP_LOG"], every, warmup, trace)
    threading.Thread(target=watch, args=args, daemon=True, name="heap-watch").start()
    sys.argv = ["monitor", *sys.argv[1:]]
    runpy.run_module("monitor", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
