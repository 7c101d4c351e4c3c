"""``printable``, ``escape_controls`` and ``json_line``: nothing a terminal obeys gets out.

The sequences are the ones ECMA-48 defines and xterm-compatible terminals act on:
CSI (``ESC [`` and the 8-bit U+009B), OSC 8 (hyperlink) and OSC 52 (clipboard)
ended by BEL or ST, other escape sequences (``ESC c`` resets the terminal), and the
single controls CR, backspace, BEL, DEL and C1.
"""

from __future__ import annotations

import io
import json
import logging
import re

from monitor.logs import JsonFormatter, make_formatter
from monitor.terminal import PrintableStream, escape_controls, json_line, printable

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = (
    "a\x1b[2Jb\x1b]52;c;Y2FuYXJ5\x07c\x1b]8;;http://evil.example/\x1b\\d\x1b]8;;\x1b\\"
    "e\x9b31mf\rg\x08h\x07i\x1bcj\x1b(Bk\x85l\x7fm\x9d0;title\x9cn"
)


def test_printable_removes_whole_sequences_and_keeps_text():
    assert printable(HOSTILE) == "abcdefghijklmn"
    assert printable("line one\n\ttabbed\n") == "line one\n\ttabbed\n"
    assert printable("Grüße, 東京 — “quoted”") == "Grüße, 東京 — “quoted”"


def test_printable_leaves_no_control_of_broken_sequences():
    for text in ("\x1b[31", "\x1b]8;;http://evil", "\x9b", "x\x1b", "\x1b]52;c;" + "A" * 70000):
        assert not FORBIDDEN.search(printable(text)), repr(text[:20])


def test_hostile_repeats_cost_one_pass():
    text = "\x9d" * 200_000 + "\x1b[" + "0" * 200_000 + "\x1b]" * 100_000
    assert not FORBIDDEN.search(printable(text))


def test_escape_controls_shows_what_was_there():
    shown = escape_controls("t\x1b[2J\r\x9b1m\tx\ny")
    assert shown == "t\\x1b[2J\\x0d\\x9b1m\tx\ny"
    assert escape_controls("a\nb", newlines=False) == "a\\x0ab"


def test_json_line_is_exact_and_terminal_safe():
    value = {"title": HOSTILE, "name": "Grüße"}
    line = json_line(value)
    assert not FORBIDDEN.search(line) and "Grüße" in line
    assert json.loads(line) == value


def test_log_lines_of_both_formats_hold_no_control_character():
    record = logging.LogRecord(
        "monitor.test", logging.WARNING, __file__, 1, "feed title %s", (HOSTILE,), None
    )
    text = make_formatter("text").format(record)
    assert not FORBIDDEN.search(text) and "\\x1b[2J" in text
    line = JsonFormatter().format(record)
    assert not FORBIDDEN.search(line)
    assert json.loads(line)["msg"] == "feed title " + HOSTILE


def test_printable_stream_filters_every_write():
    out = io.StringIO()
    stream = PrintableStream(out)  # type: ignore[arg-type]
    print(HOSTILE, file=stream)
    stream.writelines(["\x1b[2J", "ok\n"])
    assert out.getvalue() == "abcdefghijklmn\nok\n"
