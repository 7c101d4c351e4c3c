"""Reading config YAML with positions: ``${ENV}``, ``*_file`` secrets, ``include:``.

The result is plain Python data plus a :class:`Source` that maps each path in the
data (``("feeds", 0, "interval")``) to where it was written, so validation errors
from pydantic can be reported as ``FILE:LINE:COL: message``.

Every file is read bounded (:mod:`monitor.config.boundedfile`: regular files only, 4 MiB per
YAML file, 64 KiB per secret) and every YAML document is composed bounded
(:mod:`monitor.config.yamlcomposer`: aliases, expanded nodes, depth), so a hostile config
fails with a located message instead of hanging or filling memory.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from monitor.config.boundedfile import FileRejected, read_regular_file
from monitor.config.yamlcomposer import Budget, LimitError, bounded_loader
from monitor.errors import ConfigError, ConfigIssue

Path_ = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# `X_file: PATH` puts the file's content into X (systemd credentials, docker secrets).
SECRET_KEYS = frozenset({"password", "webhook_url", "secret", "url", "token"})
# Secrets whose file is re-read while running: the file's absolute name is kept in the
# data as ``X_file`` beside the value (the store's password, rotated without a restart).
REREAD_SECRET_FILES = frozenset({("store", "password")})
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # per YAML file (main file, each include)
MAX_SECRET_BYTES = 64 * 1024  # per *_file secret
# "optional": a secret this process cannot read (an admin shell beside a systemd unit
# whose credentials only the service sees) is a warning; "required": an error.
Secrets = Literal["required", "optional"]


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
    quoted: dict[Path_, bool] = field(default_factory=dict)
    env_refs: dict[Path_, list[str]] = field(default_factory=dict)  # ${NAME}s in a value
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
            (self.quoted, other.quoted),
            (self.env_refs, other.env_refs),
        ):
            for path, value in theirs.items():
                if len(path) > 1 and path[0] == section and isinstance(path[1], int):
                    mine[(section, offset + path[1], *path[2:])] = value  # type: ignore[index]
        for path in other.unread:
            if len(path) > 1 and path[0] == section and isinstance(path[1], int):
                self.unread.add((section, offset + path[1], *path[2:]))

    def issue(
        self, path: Path_, message: str, *, key: bool = False, col_offset: int = 0
    ) -> ConfigIssue:
        """A ConfigIssue located at ``path`` (``col_offset`` moves right inside the value)."""
        mark = self.locate(path, key=key)
        return ConfigIssue(mark.file, mark.line, mark.col + col_offset, message)


class _Reader:
    """Turns one YAML file's node tree into data, recording marks and problems."""

    def __init__(self, file: str, source: Source, secrets: Secrets) -> None:
        self.file = file
        self.source = source
        self.secrets = secrets

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def read(self, loader: Any, node: yaml.Node, path: Path_) -> Any:
        self.source.marks[path] = self.mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(loader, node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(loader, child, (*path, i)) for i, child in enumerate(node.value)]
        value = loader.construct_object(node, deep=True)
        self.source.quoted[path] = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
        return self._expand_env(value, path) if isinstance(value, str) else value

    def _mapping(self, loader: Any, node: yaml.MappingNode, path: Path_) -> dict:
        data: dict[str, Any] = {}
        given: dict[str, str] = {}  # secret name -> the key that set it (X or X_file)
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node))
            base = key.removesuffix("_file")
            if base in SECRET_KEYS and given.setdefault(base, key) != key:
                at, message = self.mark(key_node), f"{given[base]} and {key} are both set: keep one"
                self.source.problems.append(ConfigIssue(at.file, at.line, at.col, message))
            if key.endswith("_file") and base in SECRET_KEYS:
                self.source.key_marks[(*path, base)] = self.mark(key_node)
                filename = self.read(loader, value_node, (*path, base))
                data[base] = self._read_secret_file(filename, (*path, base))
                if (*path, base) in REREAD_SECRET_FILES:
                    data[key] = os.path.abspath(str(filename))
                    self.source.marks[(*path, key)] = self.source.marks[(*path, base)]
                    self.source.key_marks[(*path, key)] = self.mark(key_node)
                continue
            self.source.key_marks[(*path, key)] = self.mark(key_node)
            data[key] = self.read(loader, value_node, (*path, key))
        return data

    def _expand_env(self, value: str, path: Path_) -> str:
        def replace(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            self.source.env_refs.setdefault(path, []).append(name)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            if self.secrets == "optional":
                self.source.unread.add(path)
                message = f"environment variable {name} is not set here (the service's may set it)"
                self.source.warnings.append(self.source.issue(path, message))
            else:
                message = f"environment variable {name} is not set"
                self.source.problems.append(self.source.issue(path, message))
            return ""

        return _ENV_REF.sub(replace, value)

    def _read_secret_file(self, filename: Any, path: Path_) -> str:
        try:
            data = read_regular_file(str(filename), MAX_SECRET_BYTES)
            return data.decode("utf-8").strip()
        except FileRejected as exc:
            message = f"secret file {filename}: {exc}"
        except OSError as exc:
            if self.secrets == "optional":
                self.source.unread.add(path)
                message = f"cannot read secret file {filename} (the service reads it at start)"
                self.source.warnings.append(self.source.issue(path, f"{message}: {exc.strerror}"))
                return ""
            message = f"cannot read secret file {filename}: {exc.strerror}"
        except UnicodeDecodeError:
            message = f"secret file {filename}: not UTF-8 text"
        self.source.problems.append(self.source.issue(path, message))
        return ""


def _read_yaml(
    file: Path,
    source: Source,
    issues: list[ConfigIssue],
    budget: Budget,
    secrets: Secrets,
) -> Any:
    name = str(file)
    try:
        text = read_regular_file(file, MAX_CONFIG_BYTES).decode("utf-8")
    except FileRejected as exc:
        issues.append(ConfigIssue(name, 1, 1, str(exc)))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(ConfigIssue(name, 1, 1, f"cannot read config: {exc}"))
        return None
    loader = bounded_loader(text, budget)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        return _Reader(name, source, secrets).read(loader, node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        kind = "" if isinstance(exc, LimitError) else "YAML syntax: "
        issues.append(ConfigIssue(name, line, col, f"{kind}{exc.problem or exc}"))
        return None
    except yaml.YAMLError as exc:
        issues.append(ConfigIssue(name, 1, 1, f"YAML: {exc}"))
        return None
    finally:
        loader.dispose()


def read_config(file: Path, secrets: Secrets = "required") -> tuple[dict[str, Any], Source]:
    """Read ``file`` and its ``include:`` files into one mapping, with marks.

    Included files (globs relative to the main file's folder) may hold ``rules:``
    and ``feeds:`` lists, appended in sorted file order. Raises ConfigError when the
    data cannot be had (YAML syntax, a limit, an unreadable or missing file); smaller
    problems (an unset ``${NAME}``, an unreadable secret) are left in
    ``source.problems`` (or ``source.warnings`` with ``secrets="optional"``) so that
    validation still runs and reports its errors in the same pass.
    """
    source = Source()
    issues: list[ConfigIssue] = []
    budget = Budget()
    data = _read_yaml(file, source, issues, budget, secrets)
    if data is not None and not isinstance(data, dict):
        issues.append(ConfigIssue(str(file), 1, 1, "the config must be a mapping of keys"))
    if issues or not isinstance(data, dict):
        raise ConfigError(issues + source.problems)
    for pattern_index, pattern in enumerate(data.get("include") or []):
        matches = sorted(glob.glob(str(file.parent / str(pattern))))
        if not matches:
            issues.append(source.issue(("include", pattern_index), f"no file matches {pattern!r}"))
        for included in matches:
            _merge_include(Path(included), data, source, issues, budget, secrets)
    if issues:
        raise ConfigError(issues + source.problems)
    return data, source


def _merge_include(
    file: Path,
    data: dict[str, Any],
    source: Source,
    issues: list,
    budget: Budget,
    secrets: Secrets,
) -> None:
    scratch = Source()
    extra = _read_yaml(file, scratch, issues, budget, secrets)
    source.problems += scratch.problems
    source.warnings += scratch.warnings
    if extra is None:
        return
    if not isinstance(extra, dict) or set(extra) - {"rules", "feeds"}:
        issues.append(
            ConfigIssue(str(file), 1, 1, "an included file may hold only rules: and feeds:")
        )
        return
    for section, entries in extra.items():
        if not isinstance(entries, list):
            issues.append(scratch.issue((section,), f"{section} must be a list"))
            continue
        target = data.setdefault(section, [])
        if not isinstance(target, list):
            continue
        source.graft(scratch, section, len(target))
        target.extend(entries)
