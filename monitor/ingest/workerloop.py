"""The loop a parse worker process runs (:mod:`monitor.ingest.workerpool` starts it).

Kept apart from the pool so that a worker imports only what it runs: the pool's
module brings asyncio (~35 ms of CPU at every worker start), the worker needs
``os``, ``pickle``, ``resource`` and ``signal``. The jobs it receives import their
own modules when unpickled (:mod:`monitor.ingest.parsejobs`: the pre-scan at once,
feedparser at the first parse).

Protocol, on the worker's stdin and stdout: an 8-byte big-endian length, then a
pickled ``(func, args)``; the answer is framed the same way and is ``("ok", value)``,
``("parse", message)`` (a :class:`~monitor.errors.ParseError`), ``("error", line)``
(anything else raised) or ``("oom", None)`` (a :class:`MemoryError`, after which the
worker exits).
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
from typing import Any

from monitor.errors import ParseError

__all__ = ["serve"]


def serve(memory_bytes: int) -> None:
    """The loop of one worker process: read (func, args) on stdin, answer on stdout.

    ``memory_bytes`` > 0 is the worker's address-space limit (``RLIMIT_AS``, bytes).
    Returns at the end of its input, or after answering "oom".
    """
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
        answer = _run(func, args)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            answer, data = ("oom", None), pickle.dumps(("oom", None))
        writer.write(len(data).to_bytes(8, "big") + data)
        writer.flush()
        if answer[0] == "oom":
            return  # a worker that hit its limit may be in a bad state: start afresh


def _run(func: Any, args: tuple) -> tuple[str, Any]:
    """``func(*args)`` as the protocol's answer."""
    try:
        return ("ok", func(*args))
    except MemoryError:
        return ("oom", None)
    except ParseError as exc:  # parse_feed wraps what feedparser raised, MemoryError too
        oom = isinstance(exc.__context__, MemoryError)
        return ("oom", None) if oom else ("parse", str(exc))
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}"[:300])
