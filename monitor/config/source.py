"""Reading config YAML with positions: ``${ENV}``, ``*_file`` secrets, ``include:``.

The result is plain Python data plus a :class:`Source` (:mod:`monitor.config.marks`,
re-exported here) that maps each path in the data (``("feeds", 0, "interval")``) to
where it was written, so validation errors from pydantic can be reported as
``FILE:LINE:COL: message``.

Every file is read bounded (:mod:`monitor.config.boundedfile`: regular files only, 4 MiB per
YAML file, 64 KiB per secret) and every YAML document is composed bounded
(:mod:`monitor.config.yamlcomposer`: aliases, expanded nodes, depth), so a hostile config
fails with a located message instead of hanging or filling memory.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml

from monitor.config.boundedfile import FileRejected, read_regular_file
from monitor.config.marks import Mark, Path_, Source
from monitor.config.scalars import ScalarSpan, split_lines
from monitor.config.yamlcomposer import Budget, LimitError, bounded_loader
from monitor.errors import ConfigError, ConfigIssue

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


class _Reader:
    """Turns one YAML file's node tree into data, recording marks and problems."""

    def __init__(self, file: str, text: str, source: Source, secrets: Secrets) -> None:
        self.file = file
        self.text = text
        self.lines: list[str] | None = None  # split at the first string over several lines
        self.visited: set[int] = set()  # mapping nodes read (their duplicates reported)
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
        quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
        # A value not written as it reads (quotes, escapes, several lines) keeps where
        # each character was written (a plain one-line value is its own column map).
        if isinstance(value, str) and (quoted or node.end_mark.line > node.start_mark.line):
            if self.lines is None:
                self.lines = split_lines(self.text)
            start, end = node.start_mark, node.end_mark
            self.source.spans[path] = ScalarSpan(
                self.lines, (start.line, start.column), (end.line, end.column), node.style
            )
        return self._expand_env(value, path) if isinstance(value, str) else value

    def _mapping(self, loader: Any, node: yaml.MappingNode, path: Path_) -> dict:
        """A mapping's data; a key given twice is a problem at its second use.

        PyYAML's SafeLoader keeps the later of two equal keys without a word, though
        YAML 1.1 (section 3.2.1.1) requires a mapping's keys to be unique: a second
        ``feeds:`` would silently replace the first. The later value is kept here too,
        so the data matches its marks, but the problem makes ``check`` and ``run`` fail.
        """
        data: dict[str, Any] = {}
        given: dict[str, str] = {}  # secret name -> the key that set it (X or X_file)
        first_line: dict[str, int] = {}  # key -> the line it was first given on
        first_visit = id(node) not in self.visited  # an anchored mapping is read per alias
        self.visited.add(id(node))
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node))
            at = self.mark(key_node)
            if key in first_line and first_visit:
                message = f"duplicate key {key!r} (first at line {first_line[key]})"
                self.source.problems.append(ConfigIssue(at.file, at.line, at.col, message))
            first_line.setdefault(key, at.line)
            base = key.removesuffix("_file")
            if base in SECRET_KEYS and given.setdefault(base, key) != key and first_visit:
                message = f"{given[base]} and {key} are both set: keep one"
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
        return _Reader(name, text, source, secrets).read(loader, node, ())
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

    Included files (globs relative to the main file's folder; one glob or a list)
    may hold ``rules:`` and ``feeds:`` lists, appended in sorted file order. A
    relative ``templates_dir`` is made absolute against the same folder. Raises ConfigError when the
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
    _resolve_templates_dir(file, data, source)
    for pattern_index, pattern in enumerate(_include_patterns(data, source, issues)):
        if not str(pattern).strip():  # "" would glob the config's own folder
            message = "an empty glob includes nothing (is its environment variable set?)"
            issues.append(source.issue(("include", pattern_index), message))
            continue
        matches = sorted(glob.glob(str(file.parent / str(pattern))))
        if not matches:
            issues.append(source.issue(("include", pattern_index), f"no file matches {pattern!r}"))
        for included in matches:
            _merge_include(Path(included), data, source, issues, budget, secrets)
    if issues:
        raise ConfigError(issues + source.problems)
    return data, source


def _include_patterns(data: dict[str, Any], source: Source, issues: list) -> list[Any]:
    """The globs of ``include:``: a list, or one glob given as a string.

    A string is a list of one (``include: rules.d/*.yaml``): iterated as it stands it
    would be globs of one character each. ``data["include"]`` becomes that list, so
    the model sees a list; an empty string (``include: "${EXTRA:-}"``) an empty one.
    Any other type (a mapping, a number) is an issue at the key.
    """
    given = data.get("include")
    if given is None:
        return []
    if isinstance(given, str) and not given.strip():
        data["include"] = []
        return []
    if isinstance(given, str):
        data["include"] = [given]
        source.marks[("include", 0)] = source.locate(("include",))
        return data["include"]
    if not isinstance(given, list):
        kind = "a mapping" if isinstance(given, dict) else type(given).__name__
        message = f"include must be a glob or a list of globs (relative to this file), not {kind}"
        issues.append(source.issue(("include",), message))
        return []
    return given


def _resolve_templates_dir(file: Path, data: dict[str, Any], source: Source) -> None:
    """Make a relative ``templates_dir`` relative to the config file's folder.

    As ``include:`` is: templates travel with the config (``/etc/news-monitor/``),
    whatever the working directory of the command that reads it. ``state_dir`` stays
    relative to the working directory (configuration.md): it is state, not config.
    The value as written is kept in ``source.written`` for messages.
    """
    given = data.get("templates_dir")
    if isinstance(given, str) and given and not os.path.isabs(given):
        source.written[("templates_dir",)] = given
        data["templates_dir"] = os.path.abspath(file.parent / given)


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
