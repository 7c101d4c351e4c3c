"""A normal (non-editable) install works: the wheel carries the code and the shipped templates.

The wheel is built from a copy of the repository without build isolation (no network),
installed with ``--no-deps`` into a fresh virtual environment, and the dev environment's
third-party packages are made visible to it by a ``.pth`` line. That directory's own
``.pth`` files (the editable install's finder among them) are not processed from there,
so ``monitor`` can only come from the wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.integration

SAMPLE = REPO / "config" / "samples" / "joongang.xml"


def run(*args: str | Path, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run a command with a clean environment (no PYTHONPATH, no NEWS_MONITOR_*)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWS_MONITOR", "PYTHON", "PIP_", "VIRTUAL_ENV"))
    }
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def build_wheel(tmp: Path) -> Path:
    """The project's wheel, built from a copy of the sources (the checkout stays clean)."""
    import setuptools

    major = int(setuptools.__version__.split(".")[0])
    assert major >= 77, "the test extra needs setuptools>=77: pip install -e '.[test]'"
    src = tmp / "src"
    src.mkdir()
    for name in ("monitor", "templates"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    out = tmp / "dist"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-w", out, src, cwd=tmp,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    assert "deprecated" not in built.stderr.lower(), built.stderr  # SPDX license: no banner
    (wheel,) = out.glob("news_monitor-*.whl")
    return wheel


def fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new virtual environment with only the wheel installed (dependencies borrowed)."""
    venv = tmp / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel, cwd=tmp,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp)
    dev_site = sysconfig.get_path("purelib")
    (Path(site.stdout.strip()) / "dev-deps.pth").write_text(dev_site + "\n")
    return venv


def shipped_config(tmp: Path) -> Path:
    """config/monitor.yaml with its paths made absolute and nothing left that needs the
    network: the bundled sample feed only, alerts to a webhook nobody answers (port 9),
    so they stay pending for ``preview``."""
    config = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text())
    config["state_dir"] = str(tmp / "var")
    config["feeds"] = [{**config["feeds"][0], "url": f"file:{SAMPLE}"}]
    config["allow_private_networks"] = True
    config["channels"] = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}}
    for rule in config["rules"]:
        rule["notify"] = ["hook"]
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def test_a_wheel_in_a_fresh_venv_previews_with_the_shipped_templates(tmp_path):
    wheel = build_wheel(tmp_path)
    venv = fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = run(
        venv / "bin" / "python", "-c",
        "import monitor, monitor.notify.render as r; print(monitor.__file__); print(r.BUILTIN_DIR)",
        cwd=work,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    module_file, builtin = where.stdout.split()
    assert Path(module_file).is_relative_to(venv), module_file
    assert Path(builtin).is_relative_to(venv) and Path(builtin).name == "templates"
    for name in ("digest.html.j2", "digest.txt.j2", "subject.txt.j2"):
        assert (Path(builtin) / name).read_text() == (REPO / "templates" / name).read_text()

    config = shipped_config(tmp_path)
    cli = venv / "bin" / "news-monitor"
    checked = run(cli, "check", "--config", config, cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    once = run(cli, "run", "--once", "--config", config, cwd=work)
    assert "alerts to hook" in once.stderr, once.stderr  # polled; the hook is down
    text = run(cli, "preview", "--config", config, cwd=work)
    assert text.returncode == 0, text.stderr
    assert re.search(r"\d+ stor(y|ies) pending ===", text.stdout), text.stdout
    assert "news-monitor: 1 story for hook (" in text.stdout  # digest.txt.j2's first line
    html = run(cli, "preview", "--format", "html", "--config", config, cwd=work)
    assert html.returncode == 0, html.stderr
    assert "<title>news-monitor: 1 story</title>" in html.stdout
