"""sd_notify over a real datagram socket, path and abstract, and the no-systemd case."""

from __future__ import annotations

import os
import socket

import pytest

from monitor.service.sdnotify import SystemdNotifier


@pytest.fixture
def path_socket(tmp_path):
    # AF_UNIX paths are short (108 bytes): keep the socket name short
    path = tmp_path / "n.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield str(path), sock
    sock.close()


def test_messages_reach_a_path_socket(path_socket):
    address, sock = path_socket
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": address})
    assert notifier.enabled and notifier.watchdog_seconds is None
    assert notifier.ready("3 feeds,\n 0 pending")
    assert sock.recv(4096) == b"READY=1\nSTATUS=3 feeds, 0 pending"
    assert notifier.reloading()
    reload_msg = sock.recv(4096).decode().split("\n")
    assert reload_msg[0] == "RELOADING=1" and reload_msg[1].startswith("MONOTONIC_USEC=")
    assert int(reload_msg[1].split("=")[1]) > 0
    notifier.watchdog()
    notifier.status("ok")
    notifier.stopping()
    assert [sock.recv(4096) for _ in range(3)] == [b"WATCHDOG=1", b"STATUS=ok", b"STOPPING=1"]
    notifier.close()


def test_abstract_socket_with_at_sign():
    name = f"news-monitor-unit-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(5)
    try:
        notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready()
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_without_socket_every_call_is_a_no_op():
    notifier = SystemdNotifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready() is False and notifier.watchdog() is False


def test_a_vanished_socket_is_reported_not_raised(tmp_path, caplog):
    notifier = SystemdNotifier(str(tmp_path / "gone.sock"))
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert sum("cannot notify systemd" in r.message for r in caplog.records) == 1


def test_watchdog_settings_from_environment():
    mine = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert SystemdNotifier.from_env(mine).watchdog_seconds == 30
    other = dict(mine, WATCHDOG_PID="1")
    assert SystemdNotifier.from_env(other).watchdog_seconds is None
    assert SystemdNotifier.from_env(dict(mine, WATCHDOG_USEC="0")).watchdog_seconds is None
