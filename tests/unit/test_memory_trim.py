"""monitor/service/memory.py: free memory held between live blocks goes back to the
system (glibc). In a subprocess, so the test's own heap does not blur the numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from monitor.service.memory import _libc
from tests.conftest import REPO

PROGRAM = r"""
import json
from pathlib import Path
from monitor.service.memory import trim_heap

def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

blocks = [bytearray(4000) for _ in range(40_000)]  # ~160 MB from malloc, not pymalloc
kept = blocks[::64]  # one live block in 64: no heap top to give back by itself
del blocks
before = rss_kib()
released = trim_heap()
print(json.dumps({"before": before, "after": rss_kib(), "released": released, "kept": len(kept)}))
"""


@pytest.mark.skipif(_libc() is None, reason="not glibc: malloc_trim does not exist")
def test_free_memory_between_live_blocks_goes_back_to_the_system():
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO)},
    )
    numbers = json.loads(done.stdout)
    assert numbers["released"] is True
    assert numbers["before"] - numbers["after"] > 100_000  # KiB: most of the ~160 MB freed
