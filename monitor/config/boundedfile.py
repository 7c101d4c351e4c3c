"""Reading a file named in the config without letting it hang or flood the process.

A config names files: includes, ``*_file`` secrets, templates. Any of them could be
``/dev/zero`` (endless), a FIFO (an ``open()`` that blocks until a writer comes) or a
huge file. :func:`read_regular_file` opens with ``O_NONBLOCK`` (so a FIFO cannot
block the open), refuses anything but a regular file (``fstat`` + ``S_ISREG`` on the
opened descriptor, so a swap after a check cannot fool it) and reads at most
``cap + 1`` bytes, whatever the file's size claims.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRejected(OSError):
    """A file that is not a regular file or is larger than allowed.

    ``str()`` is the reason alone (``not a regular file (a FIFO)``,
    ``larger than 65536 bytes``); the caller adds the file's name.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.strerror = reason

    def __str__(self) -> str:
        return self.reason


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def read_regular_file(path: str | os.PathLike[str], cap: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` bytes.

    Raises :class:`FileRejected` for a FIFO, device, socket or directory, or a file
    longer than ``cap`` bytes; other ``OSError`` (missing, no permission) as is.
    """
    fd = os.open(Path(path), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRejected(f"not a regular file ({_kind(mode)})")
        chunks: list[bytes] = []
        left = cap + 1  # one byte more than allowed tells "too large" from "exactly cap"
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise FileRejected(f"larger than {cap} bytes")
    return b"".join(chunks)
