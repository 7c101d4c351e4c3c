"""Config value types shared by every model: durations, backfill, the strict base."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


MAX_DURATION_SECONDS = 100 * 366 * 86400  # ``now - retention`` must stay a datetime


def parse_duration(value: Any) -> timedelta:
    """Parse ``90s``, ``10m``, ``1h30m``, ``2d`` (or a ``timedelta``) to a timedelta.

    A bare number from YAML (``interval: 10``) is refused: whether it meant seconds
    or minutes cannot be told, so the unit is required (docs/configuration.md). Code
    passes a ``timedelta``. Raises ValueError for anything else and for more than 100
    years, so that ``now ± duration`` can never overflow a datetime (year 1..9999).
    """
    if isinstance(value, timedelta):
        return value
    bare = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        bare = value.strip()
    if bare is not None and float(bare) >= 0:
        raise ValueError(f"{bare} is not a duration: write {bare}s, {bare}m, {bare}h or {bare}d")
    text = value.strip() if isinstance(value, str) else ""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(
            f"invalid duration {value!r}: use a number with a unit, e.g. 90s, 10m, 1h, 2d"
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {value!r} is longer than 100 years")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """``value`` as a config writes it, in its largest whole unit: ``2d``, ``6h``,
    ``90m``, ``45s``, ``500ms`` (what :func:`parse_duration` reads back; a fraction
    of a millisecond is rounded). For messages that quote a configured duration."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms" if ms else "0s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


BACKFILL_VALUES = "backfill is all, 0 or a duration such as 2d"


def _parse_backfill(value: Any) -> timedelta | Literal["all"]:
    """``all``, ``0`` (also empty, ``none``) or a duration (configuration.md, *Backfill*).

    ``all`` is exact, as every keyword of the config is (``immediate``, ``info``); a
    value that is none of the three (``ALL``, ``2 days``) raises ValueError naming
    all three, not only what a duration looks like.
    """
    if value == "all":
        return "all"
    if value in (0, "0", None, False, "none"):
        return timedelta(0)
    try:
        return parse_duration(value)
    except ValueError as exc:
        if str(value).strip()[:1].isdigit():  # a number or a duration written wrong
            raise ValueError(f"{exc}; {BACKFILL_VALUES}") from None
        raise ValueError(f"invalid backfill {value!r}: {BACKFILL_VALUES}") from None


Backfill = Annotated[timedelta | Literal["all"], BeforeValidator(_parse_backfill)]


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)
