"""A YAML loader for config files that bounds what a document may expand to.

YAML aliases let a few lines stand for a huge tree ("billion laughs": nine lines,
10⁹ nodes once every ``*alias`` is expanded), and an alias inside its own anchor
stands for an endless one. PyYAML composes each anchored node once and hands out
the same node for every alias, so the node graph stays small; it is reading it as
a tree (:class:`monitor.config.source._Reader`) that would expand it. The composer
here counts, while composing, how many nodes and how deep the tree will be once
every alias is expanded, and stops with a :class:`LimitError` at the alias or node
that crosses a limit, so the error can say ``FILE:LINE:COL``.

libyaml's C parser produces the events when it is installed (about 6× faster than
PyYAML's pure-Python scanner: 1.1 MB of rules in 1 s instead of 6 s); the composer
is always this Python one, which is what counts.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None

MAX_ALIASES = 10_000  # per YAML file
MAX_NODES = 1_000_000  # the whole config with its includes, each alias counted expanded
MAX_DEPTH = 100  # levels of nesting, aliases expanded


class LimitError(yaml.MarkedYAMLError):
    """A document that expands past a limit (too many aliases, nodes, or levels)."""


class Budget:
    """Nodes left for a whole config (main file and includes share one budget)."""

    def __init__(self, nodes: int = MAX_NODES) -> None:
        self.limit = nodes
        self.used = 0


class _BoundedComposer(Composer):
    """Composer that counts expanded nodes, aliases and depth (mixin before Composer)."""

    max_aliases = MAX_ALIASES
    max_depth = MAX_DEPTH

    def _bounds(self, budget: Budget) -> None:
        self._budget = budget
        self._aliases = 0
        self._depth = 0
        self._deepest = 0
        # id(anchored node) -> (expanded node count, expanded height)
        self._expanded: dict[int, tuple[int, int]] = {}

    def _fail(self, event: Any, problem: str) -> LimitError:
        return LimitError(None, None, problem, event.start_mark)

    def _grow(self, nodes: int, depth: int, event: Any) -> None:
        self._budget.used += nodes
        if self._budget.used > self._budget.limit:
            limit = self._budget.limit
            raise self._fail(event, f"too many nodes: the config expands past {limit} nodes")
        if depth > self.max_depth:
            raise self._fail(event, f"too deep: nesting past {self.max_depth} levels")
        self._deepest = max(self._deepest, depth)

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node as PyYAML does, counting what it expands to (raises LimitError)."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self.max_aliases:
                raise self._fail(event, f"too many aliases (more than {self.max_aliases})")
            node = super().compose_node(parent, index)
            expanded = self._expanded.get(id(node))
            if expanded is None:
                raise self._fail(event, f"alias *{event.anchor} is inside its own anchor")
            nodes, height = expanded
            self._grow(nodes, self._depth + height, event)
            return node
        used, deepest = self._budget.used, self._deepest
        self._depth += 1
        self._deepest = self._depth
        self._grow(1, self._depth, event)
        node = super().compose_node(parent, index)
        if getattr(event, "anchor", None) is not None:
            self._expanded[id(node)] = (self._budget.used - used, self._deepest - self._depth + 1)
        self._depth -= 1
        self._deepest = max(deepest, self._deepest)
        return node


class _PyLoader(_BoundedComposer, yaml.SafeLoader):
    def __init__(self, text: str, budget: Budget) -> None:
        yaml.SafeLoader.__init__(self, text)
        self._bounds(budget)


if CParser is not None:

    class _CLoader(_BoundedComposer, SafeConstructor, Resolver, CParser):  # type: ignore[misc]
        # libyaml parses into events; composing stays in Python (Composer's methods win)
        get_single_node = Composer.get_single_node
        check_node = Composer.check_node
        get_node = Composer.get_node

        def __init__(self, text: str, budget: Budget) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._bounds(budget)


def bounded_loader(text: str, budget: Budget) -> Any:
    """A safe YAML loader for ``text`` whose composing raises LimitError past the limits.

    The loader has PyYAML's ``get_single_node``, ``construct_object`` and ``dispose``.
    """
    if CParser is not None:
        return _CLoader(text, budget)
    return _PyLoader(text, budget)
