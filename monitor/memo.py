"""Remembering pure functions of short texts (URLs, keys), within a bounded memory.

A poll asks the same questions of the same texts several times: its feed's key, its
URL's host and form, each item's canonical link and key hash (issue #18: ~8 µs each,
three times an item). :func:`remember_short` keeps the answers for the last
``maxsize`` texts of at most ``longest`` characters. Longer texts are worked out each
time: links and guids come from feeds anyone writes and may be 8,192 characters
(``ingest/normalize.py``), so a cache of them could hold ~64 MB; with the bound, one
holds at most ``maxsize`` × (``longest`` + the answer). Exceptions are not
remembered (``functools.lru_cache``): a refused URL is refused again, every time.
``lru_cache`` is thread-safe, and the store, match and event-loop threads share these.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
LONGEST = 512  # characters of the longest text remembered


def remember_short(
    maxsize: int, longest: int = LONGEST
) -> Callable[[Callable[Concatenate[str, P], R]], Callable[Concatenate[str, P], R]]:
    """Decorate a pure function of a text (or None), and of further hashable positional
    arguments that our code gives (a rule's term), to remember its last ``maxsize``
    answers for texts of at most ``longest`` characters (module docstring)."""

    def decorate(func: Callable[Concatenate[str, P], R]) -> Callable[Concatenate[str, P], R]:
        cached = lru_cache(maxsize=maxsize)(func)

        @wraps(func)
        def call(text: str, *args: P.args, **kwargs: P.kwargs) -> R:
            if text is not None and len(text) > longest:
                return func(text, *args, **kwargs)
            return cached(text, *args, **kwargs)

        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return call

    return decorate
