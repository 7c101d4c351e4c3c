"""A notify socket nobody reads never stops the daemon (issue #15 point 11).

The test binds the daemon's ``$NOTIFY_SOCKET`` (a path, as systemd's own) with a small
receive buffer and fills its queue before the daemon starts: every notification the
daemon sends finds the queue full. A blocking ``sendto`` would hold the event loop
there for good (SIGTERM never handled); the daemon drops the notifications instead,
says so once, stops on SIGTERM within its drain time, and says when the socket
accepts again after it is read.
"""

from __future__ import annotations

import signal
import socket
import subprocess

from monitor.service.daemon import DRAIN_SECONDS
from tests.conftest import write_config
from tests.integration.daemon_helpers import DaemonProcess

STARTUP_SECONDS = 30  # the subprocess's imports and first jobs on a busy 2-core machine


def full_socket(path: str) -> socket.socket:
    """A bound datagram socket whose queue is full (a further send would block)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.bind(path)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    try:
        for _ in range(100_000):
            sender.sendto(b"FILLER=1", path)
    except BlockingIOError:
        return sock
    finally:
        sender.close()
    raise AssertionError("the notify socket's queue never filled")


def config(tmp_path):
    return write_config(
        tmp_path / "monitor.yaml",
        {
            "state_dir": str(tmp_path / "state"),
            "channels": {"c": {"type": "console"}},
        },
    )


def test_a_full_notify_socket_drops_notifications_and_sigterm_still_stops(tmp_path):
    path = str(tmp_path / "n.sock")
    sock = full_socket(path)
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1500000"}
    daemon = DaemonProcess(config(tmp_path), tmp_path, env)
    try:
        # READY=1 is sent in the same step of the event loop that logs "started:"
        daemon.wait_for_log("started:", timeout=STARTUP_SECONDS)
        daemon.signal(signal.SIGTERM)
        try:
            code = daemon.proc.wait(timeout=DRAIN_SECONDS + 10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"SIGTERM not handled; log:\n{daemon.log}") from None
        assert code == 0, daemon.log
    finally:
        daemon.kill()
        sock.close()
    log = daemon.log
    assert "stopped" in log and "Traceback" not in log
    assert "is full: READY dropped" in log
    assert log.count("is full:") == 1, log  # one warning for the run of drops


def test_notifications_go_through_again_once_the_socket_is_read(tmp_path):
    path = str(tmp_path / "n.sock")
    sock = full_socket(path)
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1500000"}
    daemon = DaemonProcess(config(tmp_path), tmp_path, env)
    try:
        daemon.wait_for_log("is full: READY dropped", timeout=STARTUP_SECONDS)
        sock.setblocking(False)
        try:
            while True:
                sock.recv(4096)
        except BlockingIOError:
            pass
        daemon.wait_for_log("accepts again:", timeout=STARTUP_SECONDS)
        sock.settimeout(STARTUP_SECONDS)
        assert sock.recv(4096) != b"FILLER=1"  # the queue held only the daemon's own now
        assert daemon.stop() == 0, daemon.log
    finally:
        daemon.kill()
        sock.close()
    assert "notifications dropped" in daemon.log
