"""news-monitor: polls news feeds, matches items against watch rules, delivers alerts."""

import os

__version__ = "0.1.0"
USER_AGENT = f"news-monitor/{__version__} (+https://github.com/news-monitor/news-monitor)"

# numpy's OpenBLAS starts a thread per core at import (~0.1 s of CPU on two cores,
# docs/architecture.md "Start-up"); nothing here calls BLAS, so one thread is enough.
# Set before any module imports numpy; a value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
