"""The package layout (docs/architecture.md): no import cycles, imports follow the data flow.

Imports are read with :mod:`ast`, not by importing: every ``import`` and ``from ... import``
anywhere in a file (inside functions and ``if TYPE_CHECKING:`` blocks too), relative ones
resolved against the importing module's package, and ``from pkg import name`` counted as
an import of ``pkg.name`` when that is a module. An edge goes to the module named, not to
its parent packages (whose ``__init__`` Python also runs): a package's ``__init__`` that
re-exports its own modules is not a cycle.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("ingest", "rules", "dedup", "store", "notify")
TOP = ("cli", "service")  # what runs the stages; nothing below them imports them


def modules(package_dir: Path) -> dict[str, Path]:
    """Every module under ``package_dir`` by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` is or lies in (None: not ours)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules that ``module`` (the file ``path``) imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [_resolve(alias.name, known) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [
                f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else _resolve(stem, known)
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t is not None and t != module)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module → the modules of the same package tree it imports."""
    known = modules(package_dir)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None if the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _in(module: str, package: str) -> bool:
    return module == f"monitor.{package}" or module.startswith(f"monitor.{package}.")


def test_monitor_has_no_import_cycle():
    cycle = find_cycle(import_graph(ROOT / "monitor"))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def against_the_flow(graph: dict[str, set[str]]) -> list[str]:
    """Imports of the CLI or the service from a stage or the config, and of the CLI from
    the service, as ``"importer -> imported"``."""
    wrong = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            into_top = any(_in(target, top) for top in TOP)
            from_below = any(_in(module, stage) for stage in (*STAGES, "config"))
            if (into_top and from_below) or (_in(module, "service") and _in(target, "cli")):
                wrong.append(f"{module} -> {target}")
    return wrong


def test_no_import_runs_against_the_data_flow():
    assert against_the_flow(import_graph(ROOT / "monitor")) == []


def test_the_walker_sees_cycles_through_functions_relative_and_submodule_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from pkg import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from ..pkg.sub.b import name\nfrom pkg import a, nothing\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b"}  # relative, inside a function, a submodule
    assert graph["pkg.sub.b"] == {"pkg.c"}
    assert graph["pkg.d"] == {"pkg.sub.b", "pkg.a", "pkg"}  # ``nothing`` is pkg's own name
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    (pkg / "c.py").write_text("import json\n")
    assert find_cycle(import_graph(pkg)) is None


@pytest.mark.parametrize("stage", (*STAGES, "config"))
def test_the_flow_check_catches_a_stage_importing_the_service_or_the_cli(stage):
    graph = import_graph(ROOT / "monitor")
    graph[f"monitor.{stage}"] = {"monitor.service.daemon", "monitor.cli.commands", "monitor.models"}
    graph["monitor.service.jobs"] = {"monitor.cli"}
    assert sorted(against_the_flow(graph)) == sorted(
        [
            f"monitor.{stage} -> monitor.cli.commands",
            f"monitor.{stage} -> monitor.service.daemon",
            "monitor.service.jobs -> monitor.cli",
        ]
    )


def test_the_old_layout_had_the_config_apprise_cycle(tmp_path):
    """What this file guards against: before the packages, config.py imported the
    apprise notifier (to check its URLs), which imported config.py for its model."""
    pkg = tmp_path / "monitor"
    (pkg / "notify").mkdir(parents=True)
    for name in ("__init__.py", "notify/__init__.py", "models.py"):
        (pkg / name).write_text("")
    (pkg / "config.py").write_text(
        "def cross_check():\n    from monitor.notify.apprise import check_channel\n"
    )
    (pkg / "notify" / "apprise.py").write_text("from monitor.config import AppriseChannel\n")
    cycle = find_cycle(import_graph(pkg))
    assert cycle == ["monitor.config", "monitor.notify.apprise", "monitor.config"]


def test_every_package_is_installed_and_the_top_level_stays_small():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {
        name for name, path in modules(ROOT / "monitor").items() if path.name == "__init__.py"
    }
    assert listed == packages | {"monitor.templates"}
    top = [p.stem for p in (ROOT / "monitor").glob("*.py") if not p.stem.startswith("__")]
    assert len(top) <= 13, sorted(top)
    assert sorted(p.name for p in (ROOT / "templates").iterdir()) == [
        "digest.html.j2",
        "digest.txt.j2",
        "subject.txt.j2",
    ]
