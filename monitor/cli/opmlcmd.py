"""``import-opml FILE [-o YAML]``: a reader's OPML export as a ``feeds:`` file to include.

The feeds come from :mod:`monitor.ingest.opml` (one feed per URL, folders as tags, a
file ``check`` accepts); this module writes them (stdout, or a file replaced whole)
and says on stderr what was left out or changed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.cli.messages import count
from monitor.errors import MonitorError
from monitor.redact import redact_url

if TYPE_CHECKING:
    from monitor.ingest.opml import FeedsFile


def cmd_import_opml(args: argparse.Namespace) -> int:
    """``import-opml FILE [-o YAML]``: a ``feeds:`` file (folders become tags) for
    ``include:``, on stdout or written to YAML (:func:`write_atomically`: its folders
    created, a file already there replaced whole, and said so).

    The file passes ``check`` (:func:`monitor.ingest.opml.feeds_file`); what was left
    out or changed to that end is said on stderr, a line per kind (:func:`_import_notes`).
    Raises MonitorError (exit 2, one line) when FILE cannot be read or YAML written."""
    import yaml

    from monitor.ingest.opml import feeds_file, read_outlines

    try:
        outlines = read_outlines(args.opml_file)
    except OSError as exc:
        raise MonitorError(f"{args.opml_file}: {exc.strerror}") from None
    made = feeds_file(outlines.feeds)
    entries = made.entries
    text = f"# imported from {Path(args.opml_file).name}: {count(len(entries), 'feed')}\n"
    text += yaml.safe_dump({"feeds": entries}, sort_keys=False, allow_unicode=True)
    if args.output:
        replaced = write_atomically(Path(args.output), text)
        print(
            f"wrote {count(len(entries), 'feed')} to {args.output}"
            + (", replacing the file that was there" if replaced else "")
            + "; add it to include: in your config"
        )
    else:
        print(text, end="")
    for note in _import_notes(outlines.skipped, made):
        print(f"import-opml: {note}", file=sys.stderr)
    return 0


def _import_notes(skipped: list[str], made: FeedsFile) -> list[str]:
    """One line per kind of outline ``import-opml`` left out or changed."""
    notes = []
    if skipped:
        notes.append(f"skipped {count(len(skipped), 'outline')} without xmlUrl: {_quoted(skipped)}")
    if made.merged:
        notes.append(
            f"merged {count(made.merged, 'outline')} listing a feed URL listed before "
            "(one feed each: the first title, the tags of every folder)"
        )
    if made.refused:
        notes.append(
            f"skipped {count(len(made.refused), 'feed')} whose URL is not http(s):// or "
            f"file: {_quoted([redact_url(url) for url in made.refused])}"
        )
    if made.renamed:
        pairs = [f"{old!r} -> {new!r}" for old, new in made.renamed]
        notes.append(f"renamed {count(len(pairs), 'feed')} whose name was taken: {_some(pairs)}")
    if made.respelt:
        pairs = [f"{old!r} -> {new!r}" for old, new in made.respelt]
        notes.append(f"wrote {count(len(pairs), 'tag')} as first spelt: {_some(pairs)}")
    return notes


def _quoted(names: list[str]) -> str:
    """``"a", "b"``: ``names`` quoted (JSON's quoting), at most 10 of them."""
    return _some([json.dumps(n, ensure_ascii=False) for n in names])


def _some(shown: list[str], most: int = 10) -> str:
    """The first ``most`` of ``shown``, comma-separated, and how many more there are."""
    more = f" and {len(shown) - most} more" if len(shown) > most else ""
    return ", ".join(shown[:most]) + more


def write_atomically(path: Path, text: str) -> bool:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all; True when a file was
    there before and is now replaced.

    Missing parent folders are created (``-o feeds.d/reader.yaml`` in a fresh
    checkout). The text goes to a temporary file in the same folder, is synced, then
    renamed over ``path`` with :func:`os.replace` (atomic within one file system,
    POSIX rename(2)), so a daemon reloading its ``include:`` meanwhile reads the old
    file or the new one, never half of one, and a failed write leaves the old file.
    The new file keeps the mode of the one it replaces (else 0666 less the umask, as
    any new file); a symbolic link at ``path`` is kept and its target replaced.
    Raises MonitorError (one line: the path and the system's reason) on any OSError.
    """
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # a file where a folder should be
            found = (p for p in reversed(target.parents) if p.exists() and not p.is_dir())
            file = next(found, target.parent)
            raise MonitorError(f"{path}: cannot write: {file} is not a folder") from None
        try:
            mode: int | None = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = None
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if mode is not None:
                    os.fchmod(handle.fileno(), mode)
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise MonitorError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return mode is not None
