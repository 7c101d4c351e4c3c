"""The systemd notification protocol (``sd_notify``), without a dependency.

systemd passes ``$NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket) to a
``Type=notify`` service; the service sends ``KEY=VALUE`` lines as one datagram each:
``READY=1``, ``STATUS=…``, ``RELOADING=1``, ``STOPPING=1``, ``WATCHDOG=1``. Outside
systemd (no ``$NOTIFY_SOCKET``) every call is a no-op, so the daemon calls these
unconditionally.

Sends never block: they run on the event loop, and a notify socket whose queue is
full (systemd busy, or nobody reading it) would otherwise stop the loop, SIGTERM
included. A notification that cannot be queued at once is dropped and counted
(``sd_notify(3)`` gives no delivery promise either; the next STATUS or WATCHDOG
carries the state again).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("monitor.sdnotify")


class SystemdNotifier:
    """Sends state changes to the service manager over ``$NOTIFY_SOCKET``."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = _socket_address(address) if address else None
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        self._warned = False
        self.dropped = 0  # notifications dropped because the socket's queue was full
        self._dropping = 0  # of those, since the last one that went through

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """The notifier systemd asked for (``NOTIFY_SOCKET``, ``WATCHDOG_USEC``/``_PID``)."""
        env = os.environ if environ is None else environ
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog = int(usec) if usec.isdigit() and int(usec) > 0 else None
        if pid and pid != str(os.getpid()):
            watchdog = None  # the watchdog is meant for another process
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog)

    @property
    def enabled(self) -> bool:
        """True when a notification socket was given."""
        return self.address is not None

    @property
    def watchdog_seconds(self) -> float | None:
        """The watchdog timeout in seconds, or None when the watchdog is off."""
        return self.watchdog_usec / 1e6 if self.watchdog_usec else None

    def send(self, *lines: str) -> bool:
        """Send ``lines`` as one datagram without blocking; False when it was not sent.

        A full queue drops the notification (counted in :attr:`dropped`; one warning
        when a run of drops starts, one line when sending works again); any other
        error is logged once.
        """
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
                )
            self._sock.sendto("\n".join(lines).encode(), self.address)
        except BlockingIOError:
            self._dropped_one(lines[0].partition("=")[0] if lines else "")
            return False
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", os.environ.get("NOTIFY_SOCKET"), exc)
                self._warned = True
            return False
        if self._dropping:
            log.info(
                "systemd notify socket accepts again: %d notifications dropped", self._dropping
            )
            self._dropping = 0
        return True

    def _dropped_one(self, kind: str) -> None:
        self.dropped += 1
        self._dropping += 1
        if self._dropping == 1:
            log.warning(
                "systemd notify socket %s is full: %s dropped, not waited for "
                "(later ones too until it accepts again)",
                os.environ.get("NOTIFY_SOCKET"),
                kind or "notification",
            )

    def ready(self, status: str | None = None) -> bool:
        """``READY=1``: startup (or a reload) is complete."""
        return self.send("READY=1", *_status(status))

    def reloading(self) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (as systemd's notify-reload expects)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self, status: str | None = None) -> bool:
        """``STOPPING=1``: shutdown has begun."""
        return self.send("STOPPING=1", *_status(status))

    def status(self, text: str) -> bool:
        """``STATUS=…``: one line shown by ``systemctl status``."""
        return self.send(*_status(text))

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the service is alive and working."""
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        """Close the socket (a later call opens a new one)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _socket_address(address: str) -> str | bytes:
    """``@name`` is an abstract socket (a leading NUL byte); anything else is a path."""
    if address.startswith("@"):
        return b"\0" + address[1:].encode()
    return address


def _status(text: str | None) -> tuple[str, ...]:
    return (f"STATUS={' '.join(text.split())}",) if text else ()
