"""The committed samples in docs/samples/ are what `news-monitor preview` produces now."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_committed_samples_match_preview() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "docs" / "samples" / "regenerate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
