"""Rule matching: the analyzer (text), compiled queries (query), many rules (index).

The names below are loaded on first use (PEP 562), so importing one module of the
package (``monitor.rules.text`` for the notifiers' highlights) does not load the
compiler, luqum or numpy with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.rules.index import RuleSet
    from monitor.rules.query import Document, Query, compile_query
    from monitor.rules.text import Token, analyze, normalize_term

__all__ = ["Document", "Query", "RuleSet", "Token", "analyze", "compile_query", "normalize_term"]
_HOMES = {
    "RuleSet": "monitor.rules.index",
    "Document": "monitor.rules.query",
    "Query": "monitor.rules.query",
    "compile_query": "monitor.rules.query",
    "Token": "monitor.rules.text",
    "analyze": "monitor.rules.text",
    "normalize_term": "monitor.rules.text",
}


def __getattr__(name: str) -> Any:
    """``monitor.rules.RuleSet`` and the other re-exported names, imported when asked."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
