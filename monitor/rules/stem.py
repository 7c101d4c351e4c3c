"""Snowball English stemming (PyStemmer) for rules that set ``stem: true``.

Stemmed terms are cached process-wide; each thread has its own stemmer, since a
PyStemmer object must not be shared between threads.
"""

from __future__ import annotations

import threading

import Stemmer

__all__ = ["stem", "stem_all"]

_MAX_CACHE = 500_000
_cache: dict[str, str] = {}
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """This thread's English stemmer."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def stem(term: str) -> str:
    """The Snowball English stem of one analyzed term (``declaring`` → ``declar``)."""
    found = _cache.get(term)
    if found is None:
        found = _stemmer().stemWord(term)
        if len(_cache) < _MAX_CACHE:
            _cache[term] = found
    return found


def stem_all(terms: list[str]) -> list[str]:
    """The stems of ``terms``, in order; stems each distinct unknown term once."""
    cache = _cache
    missing = [t for t in set(terms) if t not in cache]
    if missing:
        for term, stemmed in zip(missing, _stemmer().stemWords(missing), strict=True):
            if len(cache) < _MAX_CACHE:
                cache[term] = stemmed
            else:
                return [stem(t) for t in terms]
    return [cache[t] for t in terms]
