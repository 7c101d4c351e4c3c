"""The analyzed fields of one item, shared by every rule evaluated on that item.

A :class:`Document` analyzes each field on first use, once; a :class:`FieldIndex` is one
analyzed field: its tokens and the positions of each term.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.rules.text import Token, analyze

__all__ = ["Document", "FieldIndex"]


class FieldIndex:
    """One analyzed field: its original text, tokens, and term → positions."""

    __slots__ = ("text", "tokens", "postings")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = analyze(text)
        self.postings: dict[str, list[int]] = {}
        for token in self.tokens:
            self.postings.setdefault(token.term, []).append(token.pos)


class Document:
    """The analyzed fields of one item; each field is analyzed on first use, once."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self._texts = dict(fields)
        self._index: dict[str, FieldIndex] = {}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Document:
        """A document over ``fields`` as returned by :meth:`monitor.models.Item.fields`."""
        return cls(fields)

    def field(self, name: str) -> FieldIndex:
        """The analyzed field ``name`` (empty if the item has no such field)."""
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = FieldIndex(self._texts.get(name) or "")
        return index
