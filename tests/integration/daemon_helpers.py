"""The daemon in a subprocess for the systemd, reload, secrets and metrics tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO


class DaemonProcess:
    """``news-monitor run`` in a subprocess; its stderr (the log) goes to a file."""

    def __init__(self, config: Path, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = cwd / f"daemon-{time.monotonic_ns()}.log"
        self.out_path = self.log_path.with_suffix(".out")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_MONITOR")}
        for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            full_env.pop(key, None)
        full_env["PYTHONPATH"] = str(REPO)
        full_env.update(env or {})
        self._log = self.log_path.open("w")
        self._out = self.out_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            cwd=cwd,
            env=full_env,
            stdout=self._out,
            stderr=self._log,
        )

    @property
    def log(self) -> str:
        """Everything the daemon logged so far."""
        return self.log_path.read_text()

    @property
    def stdout(self) -> str:
        """Everything the daemon printed (console channel) so far."""
        return self.out_path.read_text()

    def wait_for_log(self, needle: str, count: int = 1, timeout: float = 60) -> str:
        """Block until ``needle`` appears ``count`` times in the log; the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log
            if text.count(needle) >= count:
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} x{count} not logged; log:\n{self.log}")

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the daemon."""
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, wait, and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()
            self._out.close()

    def kill(self) -> None:
        """Make sure the process is gone (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()
        self._out.close()


class NotifySocket:
    """A datagram socket standing in for systemd's ``$NOTIFY_SOCKET``."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bind_to = b"\0" + address[1:].encode() if address.startswith("@") else address
        self.sock.bind(bind_to)
        self.sock.settimeout(0.5)
        self.messages: list[str] = []

    def wait_for(self, line: str, timeout: float = 60, count: int = 1) -> list[str]:
        """Receive until ``count`` messages containing the line ``line`` arrived."""
        return self.wait_for_match(re.escape(line), timeout, count)

    def wait_for_match(self, pattern: str, timeout: float = 60, count: int = 1) -> list[str]:
        """Receive until ``count`` lines fully matching the regex ``pattern`` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(bool(re.fullmatch(pattern, line)) for line in self.lines()) >= count:
                return self.messages
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except TimeoutError:
                continue
        raise AssertionError(f"no {pattern!r} from the daemon; got {self.messages}")

    def lines(self) -> list[str]:
        """Every line received so far, in order."""
        return [line for m in self.messages for line in m.split("\n")]

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
