"""Validation that lists every error and still yields a config to cross-check.

pydantic reports every error of a document but then returns no model, so the checks
that need the whole config (an unknown channel in a rule, a query that does not
parse, a feed listed twice) could only run once the user had fixed the first batch:
seven mistakes took three runs of ``check`` (issue #15). Here each part that fails
is set aside: in a feed, rule or channel only the value at fault, by its default or a
stand-in (:mod:`monitor.config.standins`), so the checks still judge the entry's other
values; an entry that cannot be repaired so (not a mapping, an unknown channel type)
by a stand-in keeping its name (a console channel, a feed with its tags, a rule with
its query); any other value by its default. The document is then validated again, so
the cross-checks run in the same pass; the paths set aside are returned so checks
that would judge a stand-in (a duplicate URL) skip them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.source import Path_, Source
from monitor.config.standins import repair_entry, whole_stand_in
from monitor.errors import ConfigIssue

Model = TypeVar("Model", bound=BaseModel)
# Each round sets aside everything that failed; a stand-in never fails. A nested
# model's own rule (smtp's tls/starttls) is judged once its keys are valid: a round more.
MAX_ROUNDS = 6
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
        earlier = set(aside)  # set aside in a previous round: failing again, widen
        progress = [_set_aside(data, tuple(err["loc"]), aside, earlier) for err in found]
        if not any(progress):
            break
    return None, errors, aside


def _set_aside(data: dict[str, Any], loc: Path_, aside: set[Path_], earlier: set[Path_]) -> bool:
    """Replace the part of ``data`` that ``loc`` points into; False if none was.

    In a feed, rule or channel only the value at fault (:mod:`monitor.config.standins`),
    so the checks still judge its other values in this pass; the whole entry when
    that cannot be done.
    """
    if not loc or not isinstance(loc[0], str) or loc[0] not in data:
        return False
    head, value = loc[0], data[loc[0]]
    entries = head in ("feeds", "rules") and isinstance(value, list)
    if entries and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(value):
        data[head] = list(value)
        return _set_aside_in_entry(data[head], head, loc, aside, earlier)
    if head == "channels" and len(loc) > 1 and isinstance(value, dict) and loc[1] in value:
        data[head] = dict(value)
        return _set_aside_in_entry(data[head], head, loc, aside, earlier)
    if head not in WHOLE_SECTIONS and len(loc) > 1 and isinstance(value, dict) and loc[1] in value:
        data[head] = {k: v for k, v in value.items() if k != loc[1]}
        aside.add((head, loc[1]))
        return True
    del data[head]
    aside.add((head,))
    return True


def _set_aside_in_entry(
    entries: Any, head: str, loc: Path_, aside: set[Path_], earlier: set[Path_]
) -> bool:
    """Set aside the value of ``entries[loc[1]]`` (a copied list or mapping) that
    ``loc`` points to, else the whole entry: also when that value was replaced in an
    ``earlier`` round and still fails. False if the whole entry already was."""
    key = loc[1]
    if (head, key) in aside:
        return False
    done = repair_entry((head, key), entries[key], loc[2:])
    if done is not None and done[1] not in earlier:
        entries[key], path = done
        aside.add(path)
        return True
    entries[key] = whole_stand_in(head, key, entries[key])
    aside.add((head, key))
    return True


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
        from monitor.config.suggest import did_you_mean  # difflib: only for a mistake

        return source.issue(path, f"unknown key {name!r}{did_you_mean(err['loc'])}", key=True)
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
