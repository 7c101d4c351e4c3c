"""Giving the allocator's free memory back to the system, every few minutes.

A daemon that runs for months allocates and frees without end: feed bodies, parsed
documents, digests. glibc's allocator keeps what is freed inside its heaps for reuse,
and gives back only what sits at a heap's top, so free memory between live blocks
stays resident. bench/soak.py showed it: an hour with hostile destinations grew
glibc's free-but-kept memory from 6 to 12 MiB (``mallinfo2``) while the memory in use
stayed flat. ``malloc_trim(0)`` returns every free page of every heap (glibc 2.8+,
``madvise(MADV_DONTNEED)``); the Dask and Ray projects call it on their workers for
the same reason. Elsewhere (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import logging
from functools import cache
from typing import Any

log = logging.getLogger("monitor.memory")
TRIM_SECONDS = 600.0  # how often the daemon gives free memory back


@cache
def _libc() -> Any | None:
    """The C library this process runs on (``dlopen(NULL)``: its symbols, found without
    ``find_library``'s ``ldconfig`` subprocess), or None when it has no ``malloc_trim``
    (not glibc)."""
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def trim_heap() -> bool:
    """Return the allocator's free pages to the system (glibc ``malloc_trim(0)``).

    True when some memory was released; False when none was, or without glibc. Takes
    the allocator's locks for ~1 ms per 10 MiB of heap: call it off the event loop.
    """
    libc = _libc()
    if libc is None:
        return False
    released = bool(libc.malloc_trim(0))
    log.debug("malloc_trim: %s", "memory released" if released else "nothing to release")
    return released
