"""Where each value of a loaded config was written: :class:`Mark`, :class:`Source`.

:mod:`monitor.config.source` fills a :class:`Source` while reading the YAML; validation
and the whole-config checks use it to report ``FILE:LINE:COL: message`` at the value
at fault (or inside it: :meth:`Source.issue_inside`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.config.scalars import ScalarSpan
from monitor.errors import ConfigIssue

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """A position in a config file (1-based line and column)."""

    file: str
    line: int
    col: int


@dataclass
class Source:
    """Where each value of the loaded data was written."""

    marks: dict[Path_, Mark] = field(default_factory=dict)
    key_marks: dict[Path_, Mark] = field(default_factory=dict)
    env_refs: dict[Path_, list[str]] = field(default_factory=dict)  # ${NAME}s in a value
    spans: dict[Path_, ScalarSpan] = field(default_factory=dict)  # strings over several lines
    written: dict[Path_, str] = field(default_factory=dict)  # paths as written, if resolved
    unread: set[Path_] = field(default_factory=set)  # secrets not read ("optional")
    problems: list[ConfigIssue] = field(default_factory=list)  # errors later stages survive
    warnings: list[ConfigIssue] = field(default_factory=list)

    def locate(self, path: Path_, *, key: bool = False) -> Mark:
        """The mark of ``path`` or of its nearest ancestor that has one."""
        table = self.key_marks if key else self.marks
        for end in range(len(path), -1, -1):
            mark = table.get(path[:end]) or self.marks.get(path[:end])
            if mark:
                return mark
        return Mark("<config>", 1, 1)

    def graft(self, other: Source, section: str, offset: int) -> None:
        """Copy ``other``'s marks of ``(section, i, ...)`` to ``(section, offset + i, ...)``.

        One pass over ``other``'s marks, so merging includes stays linear in their size.
        """
        for mine, theirs in (
            (self.marks, other.marks),
            (self.key_marks, other.key_marks),
            (self.env_refs, other.env_refs),
            (self.spans, other.spans),
        ):
            for path, value in theirs.items():
                if len(path) > 1 and path[0] == section and isinstance(path[1], int):
                    mine[(section, offset + path[1], *path[2:])] = value  # type: ignore[index]
        for path in other.unread:
            if len(path) > 1 and path[0] == section and isinstance(path[1], int):
                self.unread.add((section, offset + path[1], *path[2:]))

    def issue(self, path: Path_, message: str, *, key: bool = False) -> ConfigIssue:
        """A ConfigIssue located at ``path`` (its key with ``key``; inside a value:
        :meth:`issue_inside`)."""
        mark = self.locate(path, key=key)
        return ConfigIssue(mark.file, mark.line, mark.col, message)

    def issue_inside(self, path: Path_, value: str, offset: int, message: str) -> ConfigIssue:
        """A ConfigIssue at character ``offset`` (0-based) of the string ``value`` at ``path``.

        A string not written as it reads (quoted, with escapes; a ``|`` or ``>`` block, a
        folded plain scalar) is mapped through its :class:`ScalarSpan`, so the position
        is the line and column of that character in the file; a plain one-line string
        is its column plus ``offset``.
        """
        span = self.spans.get(path)
        mark = self.locate(path)
        if span is None:
            return ConfigIssue(mark.file, mark.line, mark.col + offset, message)
        line, col = span.position(value, offset)
        return ConfigIssue(mark.file, line, col, message)
