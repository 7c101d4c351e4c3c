"""The key a misspelt config key was probably meant to be: ``unknown key 'backfil'
(did you mean 'backfill'?)``.

The keys a place in the config accepts are read from the models themselves (the
pydantic field names, or their aliases such as ``from``), following the error's
location through lists, mappings, optional values and the channel types' tagged union,
so a suggestion is always a key that is valid where the mistake was made. The match is
:func:`difflib.get_close_matches` at its default ratio (0.6), as Python's own
``NameError`` suggestions and git's "did you mean" pick near names.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

__all__ = ["did_you_mean", "known_keys"]

CUTOFF = 0.6  # difflib's similarity ratio, 0..1 (its own default)


def did_you_mean(loc: Sequence[str | int]) -> str:
    """`` (did you mean 'KEY'?)`` for the unknown key at the end of ``loc`` (a pydantic
    error location from :class:`~monitor.config.models.MonitorConfig`), or ``""`` when
    no accepted key there is close enough."""
    if not loc or not isinstance(loc[-1], str):
        return ""
    near = difflib.get_close_matches(loc[-1], known_keys(loc[:-1]), n=1, cutoff=CUTOFF)
    return f" (did you mean {near[0]!r}?)" if near else ""


def known_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the mapping at ``loc`` accepts, as written in YAML (aliases where a field
    has one), or ``[]`` when ``loc`` leads to no model."""
    from monitor.config.models import MonitorConfig

    node: Any = MonitorConfig
    for part in loc:
        node = _step(node, part)
        if node is None:
            return []
    return sorted({key for model in _models(node) for key in _keys(model)})


def _step(node: Any, part: str | int) -> Any:
    """The type one location ``part`` further in: a model's field, a list's item, a
    mapping's value, or the member of a tagged union that ``part`` names."""
    members = _members(node)
    models = [m for m in members if _is_model(m)]
    if isinstance(part, str):
        for model in models:
            if part in _keys(model):
                return _field_type(model, part)
        tagged = [m for m in models if _tag(m) == part]
        if tagged:
            return tagged[0]
    for member in members:
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
            return args[0]
        if origin is dict and isinstance(part, str) and len(args) == 2:
            return args[1]
    return None


def _members(node: Any) -> list[Any]:
    """``node`` without its ``Annotated`` metadata and ``Optional``, its union split."""
    while typing.get_origin(node) is typing.Annotated:
        node = typing.get_args(node)[0]
    if typing.get_origin(node) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(node) for m in _members(arg)]
    return [node]


def _models(node: Any) -> list[type[BaseModel]]:
    return [m for m in _members(node) if _is_model(m)]


def _is_model(node: Any) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _field_type(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field.annotation
    return None


def _tag(model: type[BaseModel]) -> str | None:
    """A channel model's ``type`` value (its tag in the union), if it has one."""
    field = model.model_fields.get("type")
    if field is None:
        return None
    values = typing.get_args(field.annotation)
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None
