"""Validation that lists every error and still yields a config to cross-check.

pydantic reports every error of a document but then returns no model, so the checks
that need the whole config (an unknown channel in a rule, a query that does not
parse, a feed listed twice) could only run once the user had fixed the first batch:
seven mistakes took three runs of ``check`` (issue #15). Here each part that fails
is set aside: a feed or rule is replaced by a stand-in that keeps its name, tags and
query when those are valid, a channel by a console channel of the same name, any
other value by its default. The document is then validated again, so the
cross-checks run in the same pass; the stand-ins' own paths are returned so checks
that would judge a stand-in (a duplicate URL) skip them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.source import Path_, Source
from monitor.errors import ConfigIssue

Model = TypeVar("Model", bound=BaseModel)
MAX_ROUNDS = 4  # each round sets aside everything that failed; a stand-in never fails
STAND_IN_URL = "file:/dev/null"
# Sections set aside whole (back to their default, None): they have a required key, so
# dropping only the bad key would add a false "missing required key" error.
WHOLE_SECTIONS = frozenset({"store"})


def validate_all(
    model: type[Model], data: dict[str, Any]
) -> tuple[Model | None, list[Any], set[Path_]]:
    """Validate ``data``: the model (None when no stand-ins make it valid), every
    pydantic error (``ValidationError.errors()`` items) and the paths set aside.

    ``data`` is not changed: what is set aside is replaced in copies.
    """
    data = dict(data)
    errors: list[Any] = []
    aside: set[Path_] = set()
    for _ in range(MAX_ROUNDS):
        try:
            return model.model_validate(data), errors, aside
        except ValidationError as exc:
            found = exc.errors()
        errors += found
        progress = [_set_aside(data, tuple(err["loc"]), aside) for err in found]
        if not any(progress):
            break
    return None, errors, aside


def _set_aside(data: dict[str, Any], loc: Path_, aside: set[Path_]) -> bool:
    """Replace the part of ``data`` that ``loc`` points into; False if none was."""
    if not loc or not isinstance(loc[0], str) or loc[0] not in data:
        return False
    head, value = loc[0], data[loc[0]]
    if head in ("feeds", "rules") and len(loc) > 1 and isinstance(value, list):
        index = loc[1]
        if not isinstance(index, int) or index >= len(value) or (head, index) in aside:
            return False
        data[head] = list(value)
        data[head][index] = _stand_in(head, index, value[index])
        aside.add((head, index))
        return True
    if head == "channels" and len(loc) > 1 and isinstance(value, dict) and loc[1] in value:
        if (head, loc[1]) in aside:
            return False
        data[head] = {**value, loc[1]: {"type": "console"}}
        aside.add((head, loc[1]))
        return True
    if head not in WHOLE_SECTIONS and len(loc) > 1 and isinstance(value, dict) and loc[1] in value:
        data[head] = {k: v for k, v in value.items() if k != loc[1]}
        aside.add((head, loc[1]))
        return True
    del data[head]
    aside.add((head,))
    return True


def _stand_in(section: str, index: int, raw: Any) -> dict[str, Any]:
    """A valid feed or rule keeping what other checks look up: name, tags, query."""
    raw = raw if isinstance(raw, dict) else {}
    name = raw.get("name")
    name = name if isinstance(name, str) and name else None
    if section == "feeds":
        tags = raw.get("tags")
        good_tags = isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        return {"url": STAND_IN_URL, "name": name, "tags": tags if good_tags else []}
    query = raw.get("query")
    return {
        "name": name or f"(rule {index + 1})",
        "query": query if isinstance(query, str) and query.strip() else "x",
    }


def issue_from_pydantic(err: Any, source: Source) -> ConfigIssue:
    """A pydantic error as ``FILE:LINE:COL: message``, at the deepest path that has a
    mark, in the config's words (``unknown key``, ``unknown channel type``)."""
    path: Path_ = ()
    for part in err["loc"]:
        candidate = (*path, part)
        if candidate in source.marks or candidate in source.key_marks:
            path = candidate
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    name = err["loc"][-1] if err["loc"] else ""
    if kind == "extra_forbidden":
        return source.issue(path, f"unknown key {name!r}", key=True)
    if kind == "missing":
        return source.issue(path, f"missing required key {name!r}")
    if kind == "union_tag_invalid":
        kind_given = err["input"].get("type")
        kinds = "console, email, slack, webhook or apprise"
        msg = f"unknown channel type {kind_given!r}: use {kinds}"
    elif kind == "union_tag_not_found":
        msg = "missing required key 'type': use console, email, slack, webhook or apprise"
    where = ".".join(str(p) for p in path)
    return source.issue(path, f"{where}: {msg}" if where else msg)
