"""One daemon per state directory: an exclusive ``flock`` on ``monitor.lock``."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from monitor.errors import MonitorError, StateLockedError


class StateLock:
    """Held for the daemon's lifetime; released by the kernel if the process dies."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "monitor.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise StateLockedError naming the holder's pid (MonitorError
        when ``state_dir`` cannot be created or written)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # one line, not a traceback (`news-monitor check` says it too)
            raise MonitorError(
                f"cannot use state_dir {self.path.parent}: {exc.strerror} ({exc.filename})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateLockedError(
                f"another news-monitor (pid {holder}) is already running on {self.path.parent}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (also done by the kernel when the process exits)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
