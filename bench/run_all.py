"""Run every benchmark (``--quick`` passed through) and print one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = ["ingest.py", "dedup.py", "match.py", "poll.py"]


def main() -> int:
    extra = [a for a in sys.argv[1:] if a == "--quick"]
    results = {}
    for script in BENCHMARKS:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).parent / script), "--json", *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        results[script.removesuffix(".py")] = json.loads(out.stdout)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
