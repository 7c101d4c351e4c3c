"""Rule matching: the analyzer (text), compiled queries (query), many rules (index)."""

from monitor.rules.index import RuleSet
from monitor.rules.query import Document, Query, compile_query
from monitor.rules.text import Token, analyze, normalize_term

__all__ = ["Document", "Query", "RuleSet", "Token", "analyze", "compile_query", "normalize_term"]
