"""Where a character of a string value was written, when the value is not its text as
written: quoted (an opening quote, escapes such as ``\"``) or over several lines.

A rule syntax error has a column inside the query; for a plain one-line scalar the
file column is the value's column plus that offset. Any other scalar is not the text
of the file: a quoted one skips its quote and turns escapes into characters, a
literal block (``|``) drops each line's indentation, a folded block (``>``) and a
multi-line plain or quoted scalar also turn line breaks into spaces (YAML 1.1 spec,
sections 4.6.1 "line folding" and 9.1 "block scalars"). :class:`ScalarSpan` keeps
where such a scalar was written and maps an offset in its value back to a
``LINE:COL`` by walking the value and the written characters side by side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# The line breaks of YAML 1.1 (section 5.4): what the scanner's line numbers count.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
_LOOK_AHEAD = 12  # written characters skipped to find a value's character (an escape)


def split_lines(text: str) -> list[str]:
    """``text`` cut at YAML line breaks, so ``lines[mark.line]`` is a mark's line."""
    return _LINE_BREAK.split(text)


@dataclass(frozen=True)
class ScalarSpan:
    """A scalar node written over several lines: the file's lines (shared by every
    span of the file) and the node's start and end marks (0-based, as PyYAML's)."""

    lines: list[str]
    start: tuple[int, int]
    end: tuple[int, int]
    style: str | None  # PyYAML's: "|", ">", "'", '"' or None (plain)

    def position(self, value: str, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, col)`` where ``value[offset]`` was written.

        Characters the parser made (a folded line break, a space) map to the next
        written one; an offset past the end maps just past the last character. A value
        that is not the written text (``${ENV}`` replaced) maps as well as it can.
        """
        written = list(self._written())
        if not written or not value:
            return self.start[0] + 1, self.start[1] + 1
        j = 0
        at = written[0][:2]
        for ch in value[: offset + 1]:
            if j < len(written) and written[j][2] == ch:
                at, j = written[j][:2], j + 1
                continue
            ahead = range(j, min(len(written), j + _LOOK_AHEAD))
            k = None if ch.isspace() else next((k for k in ahead if written[k][2] == ch), None)
            if k is not None:
                at, j = written[k][:2], k + 1
            elif j < len(written):
                at = written[j][:2]  # made by the parser: shown at the next written character
        past = max(0, offset - (len(value) - 1))
        return at[0] + 1, at[1] + 1 + past

    def _lines(self) -> Iterator[tuple[int, str]]:
        """``(line number, text)`` of each line the scalar covers, cut at its end mark."""
        last_line, last_col = self.end
        for number in range(self.start[0], min(last_line, len(self.lines) - 1) + 1):
            text = self.lines[number]
            yield number, text[:last_col] if number == last_line else text

    def _written(self) -> Iterator[tuple[int, int, str]]:
        """``(line, col, char)`` of each character of the scalar's text as written:
        without a block scalar's header line and indentation, a flow scalar's opening
        quote and the indentation of its continuation lines."""
        if self.style in ("|", ">"):
            body = [(n, t) for n, t in self._lines() if n > self.start[0]]
            filled = [len(t) - len(t.lstrip(" ")) for _, t in body if t.strip()]
            indent = min(filled, default=0)
            for number, text in body:
                for col in range(indent, len(text)):
                    yield number, col, text[col]
            return
        for number, text in self._lines():
            if number == self.start[0]:
                first = self.start[1] + (1 if self.style in ("'", '"') else 0)
            else:
                first = len(text) - len(text.lstrip(" \t"))
            for col in range(first, len(text)):
                yield number, col, text[col]
