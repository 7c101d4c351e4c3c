"""The console channel: print the plain-text digest to a stream (stdout by default).

The digest is feed text, so it is printed without its terminal control sequences
(:func:`monitor.terminal.printable`). Times are in the channel's ``timezone``.
"""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.config import ConsoleChannel
from monitor.errors import DeliveryError
from monitor.models import Digest
from monitor.notify.render import Renderer
from monitor.terminal import printable


class ConsoleNotifier:
    """Writes the text rendering of each digest to ``stdout`` and flushes."""

    def __init__(
        self,
        name: str,
        config: ConsoleChannel,
        renderer: Renderer,
        stdout: TextIO | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.renderer = renderer.in_zone(config.timezone)
        self._stdout = stdout

    async def send(self, digest: Digest) -> str:
        """Print one digest; return ``"printed N stories"``."""
        stream = self._stdout if self._stdout is not None else sys.stdout
        text = printable(self.renderer.text(digest))
        try:
            stream.write(text if text.endswith("\n") else text + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:  # closed pipe or stream
            raise DeliveryError(f"cannot write to the console: {exc}", retryable=True) from None
        count = len(digest.stories)
        return f"printed {count} {'story' if count == 1 else 'stories'}"
