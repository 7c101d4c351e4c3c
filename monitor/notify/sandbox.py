"""Bounds on rendering a template: wall-clock time, output size, ranges and repetition.

Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` keeps a template away from
Python internals and caps ``range()`` at 100,000 items (``MAX_RANGE``), but a
template can still loop for ever (two nested ranges are 10¹⁰ turns; a macro that
calls itself twice is 2ⁿ calls) or build a huge string. :func:`render_bounded`
renders within :data:`RENDER_SECONDS` and :data:`MAX_OUTPUT_CHARS`:

- the output is consumed chunk by chunk (``Template.generate``), counted and checked
  against the deadline between chunks;
- every call (macros, ``range``, methods) and every loop over ``range`` checks the
  deadline;
- the render runs in a short-lived thread; a loop that neither calls nor outputs
  is stopped at the deadline by raising :class:`_Overdue` in that thread (CPython's
  ``PyThreadState_SetAsyncExc``, delivered at the next bytecode boundary; it is a
  BaseException, so no ``except Exception`` inside Jinja swallows it);
- ``*``, ``**`` and ``%`` refuse results beyond the output cap before computing them
  (one C-level multiplication cannot be interrupted), as do ``str.format`` widths
  and the fill and width arguments of ``center``, ``indent``, ``format``, ``batch``
  and ``slice``.

Any of these is a :class:`RenderLimitError` ("did not finish within 2s").
:class:`BoundedFileLoader` reads a user's template file only if it is a regular file
of at most :data:`MAX_TEMPLATE_BYTES` (a FIFO or ``/dev/zero`` cannot hang it).
"""

from __future__ import annotations

import ctypes
import os
import posixpath
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import MAX_RANGE, SandboxedEnvironment

from monitor.config.boundedfile import read_regular_file

RENDER_SECONDS = 2.0  # wall clock, one render of one template
MAX_OUTPUT_CHARS = 4 * 1024 * 1024  # one rendered template
MAX_TEMPLATE_BYTES = 1024 * 1024  # one template file
_WIDE_FILTERS = ("center", "indent", "format", "batch", "slice")
_PERCENT_WIDTH = re.compile(r"%[^a-zA-Z%]*?(\d{7,})")  # a width of 1,000,000 or more
_FORMAT_WIDTH = re.compile(r"\{[^{}]*?:[^{}]*?\d{7,}")  # the same in str.format

_deadline: ContextVar[float | None] = ContextVar("render_deadline", default=None)


class RenderLimitError(Exception):
    """A template that ran past a bound; ``str()`` says which."""


class _Overdue(BaseException):
    """Raised asynchronously in a render that passed its deadline (never escapes)."""


def _check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise _Overdue


class _Range:
    """``range()`` for templates: at most MAX_RANGE items, the deadline checked as it is walked.

    Keeps what templates use of a range (``length``, indexing, ``in``, ``reverse``).
    """

    def __init__(self, *args: int) -> None:
        self._numbers = range(*args)
        if len(self._numbers) > MAX_RANGE:
            raise RenderLimitError(f"range of {len(self._numbers)} items (at most {MAX_RANGE})")

    def __iter__(self) -> Iterator[int]:
        return _walk(self._numbers)

    def __reversed__(self) -> Iterator[int]:
        return _walk(reversed(self._numbers))

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: Any) -> Any:
        return self._numbers[index]

    def __contains__(self, value: object) -> bool:
        return value in self._numbers

    def __repr__(self) -> str:
        return repr(self._numbers)


def _walk(numbers: Iterable[int]) -> Iterator[int]:
    for i, n in enumerate(numbers):
        if not i % 1000:
            _check_deadline()
        yield n


def _capped(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def capped(*args: Any, **kwargs: Any) -> Any:
        for value in (*args[1:], *kwargs.values()):
            if isinstance(value, int) and abs(value) > MAX_OUTPUT_CHARS:
                raise RenderLimitError(f"{name}: argument {value} is too large")
        return fn(*args, **kwargs)

    for attr in ("jinja_pass_arg",):  # keep pass_environment/pass_eval_context
        if hasattr(fn, attr):
            setattr(capped, attr, getattr(fn, attr))
    return capped


class BoundedFileLoader(jinja2.FileSystemLoader):
    """FileSystemLoader that reads only regular files of at most MAX_TEMPLATE_BYTES."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The template's text, file name and up-to-date check; raises TemplateNotFound,
        FileRejected (a FIFO, device or too large a file) or OSError."""
        pieces = split_template_path(template)
        for folder in self.searchpath:
            filename = posixpath.join(folder, *pieces)
            if os.path.lexists(filename):
                break
        else:
            raise jinja2.TemplateNotFound(template)
        text = read_regular_file(filename, MAX_TEMPLATE_BYTES).decode(self.encoding)
        mtime = os.path.getmtime(filename)

        def uptodate() -> bool:
            try:
                return os.path.getmtime(filename) == mtime
            except OSError:
                return False

        return text, os.path.normpath(filename), uptodate


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox with the bounds of this module (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _Range
        for name in _WIDE_FILTERS:
            self.filters[name] = _capped(name, self.filters[name])

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """``left OPERATOR right``, refused when its result would pass the output cap."""
        _check_deadline()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_OUTPUT_CHARS:
                    raise RenderLimitError(f"'*' would make {len(seq) * times} items")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_OUTPUT_CHARS:
                raise RenderLimitError("'**' result too large")
        elif operator == "%" and isinstance(left, str) and _PERCENT_WIDTH.search(left):
            raise RenderLimitError("'%' width too large")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` for templates; refused when a field is 1,000,000 or more wide."""
        owner = getattr(value, "__self__", None)
        name = getattr(value, "__name__", "")
        wide = isinstance(owner, str) and bool(_FORMAT_WIDTH.search(owner))
        if wide and name in ("format", "format_map"):

            def refuse(*args: Any, **kwargs: Any) -> str:
                raise RenderLimitError(f"'{name}' width too large")

            return refuse
        return super().wrap_str_format(value)

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call ``obj`` from template code (macros, functions, methods), deadline first."""
        _check_deadline()
        return super().call(context, obj, *args, **kwargs)


def render_bounded(
    template: jinja2.Template, context: dict[str, Any], seconds: float = RENDER_SECONDS
) -> str:
    """Render ``template`` within ``seconds`` (wall clock) and MAX_OUTPUT_CHARS characters.

    The render runs in a short-lived thread, so the overdue exception is raised there
    and never in the caller (the daemon's event loop). Raises RenderLimitError when a
    bound is passed; other template errors as Jinja raises them.
    """
    lock = threading.Lock()
    box: dict[str, Any] = {}

    def work() -> None:
        _deadline.set(time.monotonic() + seconds)
        try:
            box["result"] = _collect(template.generate(context))
        except _Overdue:
            pass
        except Exception as exc:  # handed to the caller as it is
            box["error"] = exc
        finally:
            with lock:
                box["done"] = True

    worker = _RenderThread(work)
    worker.start()
    worker.join(seconds)
    with lock:
        if not box.get("done") and worker.ident is not None:
            _raise_in(worker.ident, _Overdue)
    worker.join(1.0)  # a loop stops at its next bytecode; a long C call may not: left behind
    if "error" in box:
        raise box["error"]
    if "result" in box:
        return box["result"]
    raise RenderLimitError(f"did not finish within {seconds:g}s")


class _RenderThread(threading.Thread):
    """Runs one render; an overdue exception arriving after the render is absorbed."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="render", daemon=True)
        self._work = work

    def run(self) -> None:
        try:
            self._work()
            _settle()
        except _Overdue:
            pass


def _settle() -> None:
    """A Python call: a pending asynchronous exception is delivered at its entry."""


def _collect(chunks: Iterator[str]) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise RenderLimitError(f"output longer than {MAX_OUTPUT_CHARS} characters")
        parts.append(chunk)
        _check_deadline()
    return "".join(parts)


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode (None: cancel a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else ctypes.c_void_p(0)
    )
