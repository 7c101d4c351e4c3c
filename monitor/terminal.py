"""Feed text made safe to print on a terminal or write to a log.

Feeds are written by strangers. A title holding ``ESC [ 2 J`` clears the analyst's
screen, ``ESC ] 52 ; c ; …`` writes their clipboard, ``ESC ] 8 ; ; URL`` hides a
link behind innocent text, ``CR`` and backspace overwrite what was printed before,
and the C1 controls U+0080–U+009F (``U+009B`` is CSI) act as their ``ESC``
equivalents on many terminals. So everything we print goes through
:func:`printable` (control sequences removed whole, per ECMA-48), and everything we
log through :func:`escape_controls` (controls shown as ``\\xNN``, so the operator
sees that something was there).
"""

from __future__ import annotations

import json
import re
from typing import Any, TextIO

from monitor.redact import redact_secrets

# ECMA-48 (ISO 6429) section 5: CSI (ESC [ or U+009B) parameter bytes 0x30-0x3F,
# intermediate bytes 0x20-0x2F, one final byte 0x40-0x7E; the control strings OSC,
# DCS, SOS, PM and APC (ESC ] P X ^ _, or U+009D U+0090 U+0098 U+009E U+009F) run to
# ST (ESC \ or U+009C), or BEL for OSC as xterm accepts; other escape sequences are
# ESC, intermediates 0x20-0x2F, a final byte 0x30-0x7E. A string stops at the next
# introducer and repeats are bounded, so hostile text costs one pass, never a
# backtracking search; an unterminated one loses its introducer below.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]{0,256}[\x20-\x2f]{0,16}[\x40-\x7e]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x90\x98\x9c-\x9f]{0,65536}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]{0,16}[\x30-\x7e]"
)
# What is left: C0 controls but tab and line feed, DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# Characters JSON leaves raw (RFC 8259 escapes only U+0000-U+001F) that a terminal
# still obeys: DEL and the C1 controls.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without terminal control sequences and control characters.

    Escape sequences are removed whole (so no ``[2J`` residue is left), then every
    remaining C0 control but tab and line feed, DEL and every C1 control (U+0080 to
    U+009F); a carriage return goes too, so nothing printed can overwrite a line.
    """
    if text.isprintable():
        return text  # the common case: nothing to do
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def escape_controls(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control character shown as ``\\xNN`` (tab kept; line feed
    kept when ``newlines``), for log lines: the operator sees that a feed sent
    ``\\x1b[2J`` instead of having their terminal cleared by it."""
    if text.isprintable():
        return text
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def json_line(value: Any) -> str:
    """``value`` as one JSON line, UTF-8 kept readable (``ensure_ascii=False``) but DEL
    and the C1 controls written as ``\\u00NN`` escapes, so the data is exact and the
    line is safe on a terminal (JSON itself escapes only U+0000-U+001F)."""
    text = json.dumps(value, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class PrintableStream:
    """A text stream that passes everything written to it through :func:`printable`.

    The CLI installs it over ``sys.stdout`` and ``sys.stderr``, so whatever a command
    prints (feed titles, error messages quoting a server) cannot drive the terminal.
    Every other attribute is the wrapped stream's.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` without its control sequences and with every registered secret
        masked (:func:`monitor.redact.redact_secrets`: a stored error from before secrets
        were masked when kept, a destination's answer ``send-test`` prints); the length
        of ``text``."""
        self.stream.write(redact_secrets(printable(text)))  # a control inside a secret
        return len(text)

    def writelines(self, lines: Any) -> None:
        """Write each of ``lines`` through :meth:`write`."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
